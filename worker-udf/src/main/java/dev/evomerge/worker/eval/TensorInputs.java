package dev.evomerge.worker.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.merge.MergeEngine;
import dev.evomerge.worker.merge.MergeMethod;
import dev.evomerge.worker.merge.MergeStatistics;
import dev.evomerge.worker.merge.PreparedTensor;
import java.util.ArrayList;
import java.util.List;

/** One tensor of every source (and of the base), read and prepared for a merge method. */
final class TensorInputs {
  private TensorInputs() {}

  /**
   * @param base the base model, or null
   * @param manager owns the read arrays and the prepared result
   * @param stats the statistics {@code method} merges with ({@link MergeStatistics#NONE} when it
   *     needs none)
   */
  static PreparedTensor prepare(
      MergeMethod method,
      String name,
      List<String> models,
      List<HfModelFolder> sources,
      HfModelFolder base,
      NDManager manager,
      MergeStatistics stats) {
    List<NDArray> inputs = new ArrayList<>();
    for (HfModelFolder source : sources) {
      inputs.add(array(manager, source, name));
    }
    NDArray baseArray = base == null ? null : array(manager, base, name);
    return MergeEngine.prepare(method, name, models, inputs, baseArray, stats);
  }

  /** Widened straight into the direct buffer the NDArray wraps (no heap copy in between). */
  private static NDArray array(NDManager manager, HfModelFolder folder, String name) {
    return manager.create(
        folder.readFloatDirect(name),
        new Shape(folder.tensors().get(name).shape()),
        DataType.FLOAT32);
  }
}
