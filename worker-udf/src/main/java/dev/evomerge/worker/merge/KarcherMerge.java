package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * Karcher (Riemannian) mean of the inputs' directions with equal weights, by fixed-point iteration
 * of log/exp maps on the unit sphere, scaled by the inputs' mean norm.
 */
final class KarcherMerge implements MergeMethod {
  @Override
  public String name() {
    return "karcher";
  }

  @Override
  public BaseUse baseUse() {
    return BaseUse.NONE;
  }

  @Override
  public Map<String, Object> globalDefaults() {
    return Map.of("max_iter", 10.0, "tol", 1e-5);
  }

  @Override
  public Map<String, Object> perModelDefaults() {
    return Map.of();
  }

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    int n = t.count();
    NDArray x = t.stacked();
    NDArray norms = x.norm(new int[] {1}, true);
    float[] nrm = norms.toFloatArray();
    double meanNorm = 0;
    for (float v : nrm) {
      meanNorm += v / n;
    }
    NDArray unit = x.div(norms.maximum(1e-12f));
    double[] eq = new double[n];
    java.util.Arrays.fill(eq, 1.0 / n);
    NDArray m = Ops.weightedSum(unit, eq);
    m = m.div(m.norm().maximum(1e-12f));
    int maxIter = (int) p.num("max_iter");
    double tol = p.num("tol");
    for (int it = 0; it < maxIter; it++) {
      float[] cos = unit.matMul(m.reshape(-1, 1)).clip(-1, 1).toFloatArray();
      double[] coef = new double[n];
      double[] along = new double[n];
      for (int i = 0; i < n; i++) {
        double theta = Math.acos(cos[i]);
        double s = theta < 1e-7 ? 1 : theta / Math.sin(theta);
        coef[i] = s / n;
        along[i] = cos[i] * s / n;
      }
      // mean tangent: sum_i (u_i - cos_i m) * theta_i / sin(theta_i) / n
      NDArray g = Ops.weightedSum(unit, coef).sub(m.mul(Ops.sum(along)));
      double gn = g.norm().getFloat();
      if (gn < tol) {
        break;
      }
      m = m.mul(Math.cos(gn)).add(g.mul(Math.sin(gn) / gn));
      m = m.div(m.norm().maximum(1e-12f));
    }
    return m.mul(meanNorm);
  }
}
