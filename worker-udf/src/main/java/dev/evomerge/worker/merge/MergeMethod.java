package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import java.util.Map;
import java.util.Set;

/**
 * One merge method. Implementations are stateless and thread-safe; register them in {@link
 * MergeMethods}. {@link #combine} may create temporaries freely: {@link MergeEngine#combine} scopes
 * them.
 */
public interface MergeMethod {

  /** How a method uses {@code base_model}. */
  enum BaseUse {
    /** Needs a base; its inputs are the other models and their task vectors. */
    REQUIRED,
    /** Works with or without a base; with one, on task vectors. */
    OPTIONAL,
    /** Treats the base, if named, as an ordinary input. */
    NONE
  }

  /** Marks a parameter with no default: a recipe must set it. */
  Object REQUIRED =
      new Object() {
        @Override
        public String toString() {
          return "<required>";
        }
      };

  String name();

  BaseUse baseUse();

  /** Global parameters and their defaults ({@link #REQUIRED} where none). */
  Map<String, Object> globalDefaults();

  /** Per-model parameters and their defaults ({@link #REQUIRED} where none). */
  Map<String, Object> perModelDefaults();

  /** Exact number of inputs (models other than the base) the method takes; -1 = any. */
  default int inputCount() {
    return -1;
  }

  /** Minimum number of inputs when {@link #inputCount()} is -1. */
  default int minInputs() {
    return 1;
  }

  /** Per-model statistics the method merges with (see {@link MergeStatistics}); none by default. */
  default Set<MergeStatistics.Kind> statistics() {
    return Set.of();
  }

  /** Checks resolved values; {@code where} names the tensor, {@code models} the inputs. */
  default void validate(ResolvedParams params, String where, java.util.List<String> models) {}

  /** Computes the merged tensor, shape of the inputs, on their device. */
  NDArray combine(PreparedTensor tensor, ResolvedParams params);

  default Set<String> parameterNames() {
    Set<String> all = new java.util.LinkedHashSet<>(globalDefaults().keySet());
    all.addAll(perModelDefaults().keySet());
    return all;
  }
}
