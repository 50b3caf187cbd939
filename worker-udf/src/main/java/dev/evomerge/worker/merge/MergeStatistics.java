package dev.evomerge.worker.merge;

import com.google.common.base.Preconditions;
import dev.evomerge.worker.io.FloatTensor;
import java.util.Arrays;
import java.util.List;

/**
 * Where per-model statistics of the data-driven methods come from: the diagonal Fisher information
 * of a tensor ({@code fisher}, same shape as the tensor) and the Gram matrix {@code X^T X} of a
 * linear layer's inputs ({@code regmean}, {@code [in, in]} for a weight {@code [out, in]}). How
 * they are computed is not the merge engine's business; {@link StatisticsFolder} reads them from
 * safetensors files.
 */
public interface MergeStatistics {

  /** A kind of statistic and the file it is stored in. */
  enum Kind {
    FISHER("Fisher statistics", "fisher.safetensors"),
    GRAM("Gram matrix", "gram.safetensors");

    private final String label;
    private final String fileName;

    Kind(String label, String fileName) {
      this.label = label;
      this.fileName = fileName;
    }

    public String label() {
      return label;
    }

    public String fileName() {
      return fileName;
    }
  }

  /** No statistics: fine for every method that needs none. */
  MergeStatistics NONE =
      new MergeStatistics() {
        @Override
        public long[] shape(Kind kind, String model, String tensor) {
          return null;
        }

        @Override
        public FloatTensor read(Kind kind, String model, String tensor) {
          return null;
        }
      };

  /** Shape of a model's statistic for a tensor, from headers only; null where it has none. */
  long[] shape(Kind kind, String model, String tensor);

  /** The statistic's values; null where the model has none for that tensor. */
  FloatTensor read(Kind kind, String model, String tensor);

  default FloatTensor fisher(String model, String tensor) {
    return read(Kind.FISHER, model, tensor);
  }

  default FloatTensor gram(String model, String tensor) {
    return read(Kind.GRAM, model, tensor);
  }

  /**
   * Checks that every model has what {@code kind} needs for one tensor, so a merge fails before any
   * tensor is read. Fisher statistics are needed for every tensor, shaped like it. Gram matrices
   * concern 2-D tensors only: a tensor none of the models has one for is averaged; otherwise every
   * model needs one, {@code [in, in]}.
   *
   * @return whether the statistic is used for this tensor
   */
  static boolean check(
      MergeStatistics stats, Kind kind, String tensor, long[] shape, List<String> models) {
    if (kind == Kind.GRAM && shape.length != 2) {
      return false;
    }
    boolean any = false;
    for (String model : models) {
      any |= stats.shape(kind, model, tensor) != null;
    }
    if (kind == Kind.GRAM && !any) {
      return false;
    }
    long[] expected = kind == Kind.FISHER ? shape : new long[] {shape[1], shape[1]};
    if (kind == Kind.GRAM) {
      // block-diagonal Gram matrices [in / b, b, b], as the first model has them
      long[] first = stats.shape(kind, models.get(0), tensor);
      if (first != null
          && first.length == 3
          && first[1] == first[2]
          && first[0] * first[1] == shape[1]) {
        expected = first;
      }
    }
    for (String model : models) {
      long[] s = stats.shape(kind, model, tensor);
      Preconditions.checkArgument(
          s != null,
          "No %s for model %s, tensor %s (%s)",
          kind.label(),
          model,
          tensor,
          kind == Kind.GRAM ? "other models have one" : "fisher needs one for every tensor");
      Preconditions.checkArgument(
          Arrays.equals(s, expected),
          "%s of model %s, tensor %s has shape %s, expected %s",
          kind.label(),
          model,
          tensor,
          Arrays.toString(s),
          Arrays.toString(expected));
    }
    return true;
  }
}
