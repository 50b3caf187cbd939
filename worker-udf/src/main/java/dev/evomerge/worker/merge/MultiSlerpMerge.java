package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * Weighted spherical mean in one tangent step: unit vectors {@code u_i}, mean direction {@code m},
 * tangents {@code u_i - (u_i.m) m}, mapped back with the exponential map and scaled by the weighted
 * norm. Scalars come to the host; the tensor work stays on the device.
 */
final class MultiSlerpMerge implements MergeMethod {
  @Override
  public String name() {
    return "multislerp";
  }

  @Override
  public BaseUse baseUse() {
    return BaseUse.OPTIONAL;
  }

  @Override
  public Map<String, Object> globalDefaults() {
    return Map.of("normalize_weights", true, "eps", 1e-8);
  }

  @Override
  public Map<String, Object> perModelDefaults() {
    return Map.of("weight", REQUIRED);
  }

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    double[] w = p.nums("weight");
    double eps = p.num("eps");
    if (p.flag("normalize_weights")) {
      double s = Ops.sum(w);
      for (int i = 0; i < w.length; i++) {
        w[i] /= s;
      }
    }
    NDArray v = t.hasBase() ? t.deltas() : t.stacked();
    NDArray norms = v.norm(new int[] {1}, true);
    NDArray unit = v.div(norms.maximum((float) eps));
    NDArray m = Ops.weightedSum(unit, w);
    m = m.div(m.norm().maximum((float) eps));
    NDArray proj = unit.matMul(m.reshape(-1, 1)); // [n, 1] = u_i . m
    NDArray tangents = unit.sub(proj.mul(m.reshape(1, -1)));
    NDArray tau = Ops.weightedSum(tangents, w);
    double tauNorm = tau.norm().getFloat();
    NDArray direction =
        tauNorm < eps ? m : m.mul(Math.cos(tauNorm)).add(tau.mul(Math.sin(tauNorm) / tauNorm));
    double scale = 0;
    float[] n = norms.toFloatArray();
    for (int i = 0; i < w.length; i++) {
      scale += w[i] * n[i];
    }
    NDArray out = direction.mul(scale);
    return t.hasBase() ? t.base().add(out) : out;
  }
}
