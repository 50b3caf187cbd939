package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.google.common.base.Preconditions;
import java.util.List;
import java.util.Map;

/**
 * SCE: select the positions where the task vectors vary most across models, weight each model by
 * its share of the squared task-vector mass, keep the entries agreeing with the elected sign.
 */
final class SceMerge implements MergeMethod {
  @Override
  public String name() {
    return "sce";
  }

  @Override
  public BaseUse baseUse() {
    return BaseUse.REQUIRED;
  }

  @Override
  public Map<String, Object> globalDefaults() {
    return Map.of("select_topk", 1.0);
  }

  @Override
  public Map<String, Object> perModelDefaults() {
    return Map.of();
  }

  @Override
  public void validate(ResolvedParams p, String where, List<String> models) {
    double k = p.num("select_topk");
    Preconditions.checkArgument(
        k > 0 && k <= 1, "Invalid select_topk at %s: %s (must be in (0, 1])", where, k);
  }

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    NDArray d = t.deltas();
    long numel = t.numel();
    long k = (long) Math.floor(p.num("select_topk") * numel);
    if (k < numel) {
      NDArray variance = d.sub(d.mean(new int[] {0}, true)).square().mean(new int[] {0});
      d = d.mul(Ops.topMask(variance, k));
    }
    NDArray elected = d.sum(new int[] {0}).gte(0).toType(DataType.FLOAT32, false).mul(2).sub(1);
    NDArray mask = Ops.toFloat(d.mul(elected).gt(0));
    float[] energy = d.square().mean(new int[] {1}).toFloatArray();
    double total = 0;
    for (float e : energy) {
      total += e;
    }
    double[] w = new double[energy.length];
    for (int i = 0; i < w.length; i++) {
      w[i] = total > 0 ? energy[i] / total : 0;
    }
    NDArray num = Ops.weightedSum(d.mul(mask), w);
    NDArray den = Ops.weightedSum(mask, w).maximum(1e-6f);
    return t.base().add(num.div(den));
  }
}
