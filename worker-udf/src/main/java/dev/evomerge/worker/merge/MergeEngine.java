package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.common.base.Preconditions;
import java.util.Arrays;
import java.util.List;

/**
 * Prepare once, combine many. {@link #prepare} builds a {@link PreparedTensor} owned by the inputs'
 * manager; {@link #combine} computes one candidate and hands the result to the caller's manager,
 * closing every temporary so resident managers never grow.
 */
public final class MergeEngine {
  private MergeEngine() {}

  /**
   * Stacks the inputs of one tensor and, with a base, their task vectors. The result lives in
   * {@code inputs.get(0)}'s manager; the given arrays are left untouched.
   *
   * @param models names of the inputs, for error messages
   */
  public static PreparedTensor prepare(
      String name, List<String> models, List<NDArray> inputs, NDArray base, boolean withDeltas) {
    Preconditions.checkArgument(!inputs.isEmpty(), "Tensor %s has no inputs", name);
    Preconditions.checkArgument(
        models.size() == inputs.size(),
        "Tensor %s: %s names for %s inputs",
        name,
        models.size(),
        inputs.size());
    Shape shape = inputs.get(0).getShape();
    for (int i = 0; i < inputs.size(); i++) {
      checkShape(name, models.get(i), shape, inputs.get(i));
    }
    if (base != null) {
      checkShape(name, "base_model", shape, base);
    }
    NDManager manager = inputs.get(0).getManager();
    try (NDScope scope = new NDScope()) {
      scope.suppressNotUsedWarning();
      NDList flat = new NDList();
      for (NDArray x : inputs) {
        flat.add(x.toType(DataType.FLOAT32, false).reshape(1, -1));
      }
      NDArray stacked = NDArrays.concat(flat, 0);
      // duplicate(): memory of its own. With toType(FLOAT32, true) on an F32 input the resident
      // base kept reading the input's buffer after the caller closed it: every merge with a base
      // turned to garbage (NaN) a while after loading, from the second generation on (demo)
      NDArray baseFlat =
          base == null ? null : base.toType(DataType.FLOAT32, false).reshape(-1).duplicate();
      NDArray deltas = base != null && withDeltas ? stacked.sub(baseFlat) : null;
      for (NDArray a : new NDArray[] {stacked, baseFlat, deltas}) {
        if (a != null) {
          a.attach(manager);
          NDScope.unregister(a);
        }
      }
      return new PreparedTensor(name, shape, stacked, baseFlat, deltas);
    }
  }

  /** {@link #prepare} with task vectors exactly when the method works on them. */
  public static PreparedTensor prepare(
      MergeMethod method, String name, List<String> models, List<NDArray> inputs, NDArray base) {
    return prepare(method, name, models, inputs, base, MergeStatistics.NONE);
  }

  /**
   * {@link #prepare} with task vectors exactly when the method works on them, and the statistics
   * the method needs read from {@code stats} and stacked beside the inputs (checked first: a
   * missing or mis-shaped statistic names the model and the tensor).
   */
  public static PreparedTensor prepare(
      MergeMethod method,
      String name,
      List<String> models,
      List<NDArray> inputs,
      NDArray base,
      MergeStatistics stats) {
    long[] shape = inputs.isEmpty() ? new long[0] : inputs.get(0).getShape().getShape();
    List<MergeStatistics.Kind> used = new java.util.ArrayList<>();
    for (MergeStatistics.Kind kind : method.statistics()) {
      if (MergeStatistics.check(stats, kind, name, shape, models)) {
        used.add(kind);
      }
    }
    PreparedTensor prepared =
        prepare(name, models, inputs, base, method.baseUse() != MergeMethod.BaseUse.NONE);
    NDManager manager = prepared.manager();
    for (MergeStatistics.Kind kind : used) {
      try (NDScope scope = new NDScope()) {
        scope.suppressNotUsedWarning();
        NDList rows = new NDList();
        for (String model : models) {
          dev.evomerge.worker.io.FloatTensor s = stats.read(kind, model, name);
          rows.add(manager.create(s.data(), new Shape(s.shape())));
        }
        NDArray stacked = NDArrays.stack(rows, 0);
        stacked.attach(manager);
        NDScope.unregister(stacked);
        prepared.putStatistic(kind, stacked);
      }
    }
    return prepared;
  }

  /**
   * Merges one tensor. Every temporary is closed before returning; the result, shaped like the
   * inputs, belongs to {@code out}.
   */
  public static NDArray combine(
      MergeMethod method, PreparedTensor tensor, ResolvedParams params, NDManager out) {
    Preconditions.checkArgument(
        params.perModel().size() == tensor.count(),
        "Tensor %s: parameters for %s models but %s inputs",
        tensor.name(),
        params.perModel().size(),
        tensor.count());
    Preconditions.checkArgument(
        method.baseUse() != MergeMethod.BaseUse.REQUIRED || tensor.hasBase(),
        "Method %s needs base_model (tensor %s)",
        method.name(),
        tensor.name());
    try (NDScope scope = new NDScope()) {
      scope.suppressNotUsedWarning();
      NDArray result = method.combine(tensor, params);
      if (result == tensor.stacked() || result == tensor.base() || result == tensor.deltas()) {
        result = result.duplicate();
      }
      result = result.reshape(tensor.shape());
      result.attach(out);
      NDScope.unregister(result);
      return result;
    }
  }

  private static void checkShape(String name, String model, Shape expected, NDArray x) {
    Preconditions.checkArgument(
        x.getShape().equals(expected),
        "Tensor %s of model %s has shape %s, expected %s",
        name,
        model,
        Arrays.toString(x.getShape().getShape()),
        Arrays.toString(expected.getShape()));
  }
}
