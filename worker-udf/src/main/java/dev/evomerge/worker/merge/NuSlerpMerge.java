package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * Slerp of two models at {@code t = w2 / (w1 + w2)}: over the whole tensor ({@code
 * nuslerp_flatten}), else per vector along the last dimension, or along the first with {@code
 * nuslerp_row_wise} (mergekit's {@code dim=0}); with a base, of the task vectors, added back.
 */
final class NuSlerpMerge implements MergeMethod {
  @Override
  public String name() {
    return "nuslerp";
  }

  @Override
  public BaseUse baseUse() {
    return BaseUse.OPTIONAL;
  }

  @Override
  public Map<String, Object> globalDefaults() {
    return Map.of("nuslerp_flatten", true, "nuslerp_row_wise", false);
  }

  @Override
  public Map<String, Object> perModelDefaults() {
    return Map.of("weight", REQUIRED);
  }

  @Override
  public int inputCount() {
    return 2;
  }

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    double w1 = p.num(0, "weight");
    double w2 = p.num(1, "weight");
    double sum = w1 + w2;
    double tt = Math.abs(sum) < 1e-8 ? 0.5 : w2 / sum;
    NDArray v0 = t.hasBase() ? t.delta(0) : t.input(0);
    NDArray v1 = t.hasBase() ? t.delta(1) : t.input(1);
    NDArray out;
    if (p.flag("nuslerp_flatten") || t.shape().dimension() < 2) {
      out = Ops.slerpRows(v0.reshape(1, -1), v1.reshape(1, -1), tt).reshape(-1);
    } else if (p.flag("nuslerp_row_wise")) {
      // mergekit's row_wise slerps along dim 0: the vectors x[:, j].
      long rows = t.shape().get(0);
      NDArray c0 = v0.reshape(rows, -1).transpose();
      NDArray c1 = v1.reshape(rows, -1).transpose();
      out = Ops.slerpRows(c0, c1, tt).transpose().reshape(-1);
    } else {
      // Along the last dimension: the vectors x[..., :].
      out = Ops.slerpRows(Ops.asRows(v0, t.shape()), Ops.asRows(v1, t.shape()), tt).reshape(-1);
    }
    return t.hasBase() ? t.base().add(out) : out;
  }
}
