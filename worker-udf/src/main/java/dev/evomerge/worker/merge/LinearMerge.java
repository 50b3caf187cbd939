package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/** {@code sum w_i x_i}, divided by {@code sum w_i} when normalizing (divisor 1 if it is ~0). */
final class LinearMerge implements MergeMethod {
  @Override
  public String name() {
    return "linear";
  }

  @Override
  public BaseUse baseUse() {
    return BaseUse.NONE;
  }

  @Override
  public Map<String, Object> globalDefaults() {
    return Map.of("normalize", true);
  }

  @Override
  public Map<String, Object> perModelDefaults() {
    return Map.of("weight", REQUIRED);
  }

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    double[] w = p.nums("weight");
    double sw = Ops.sum(w);
    if (p.flag("normalize") && Math.abs(sw) >= 1e-8) {
      for (int i = 0; i < w.length; i++) {
        w[i] /= sw;
      }
    }
    return Ops.weightedSum(t.stacked(), w);
  }
}
