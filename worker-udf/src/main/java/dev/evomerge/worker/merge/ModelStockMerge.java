package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * Model Stock: interpolates between the fine-tunes' mean and the base by {@code t = N cos / (1 +
 * (N-1) cos)}, {@code cos} the mean pairwise cosine of the task vectors (per row when {@code
 * filter_wise}).
 */
final class ModelStockMerge implements MergeMethod {
  @Override
  public String name() {
    return "model_stock";
  }

  @Override
  public BaseUse baseUse() {
    return BaseUse.REQUIRED;
  }

  @Override
  public Map<String, Object> globalDefaults() {
    return Map.of("filter_wise", false);
  }

  @Override
  public Map<String, Object> perModelDefaults() {
    return Map.of();
  }

  @Override
  public int minInputs() {
    return 2;
  }

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    int n = t.count();
    boolean rows = p.flag("filter_wise") && t.shape().dimension() > 1;
    NDArray[] unit = new NDArray[n];
    for (int i = 0; i < n; i++) {
      NDArray d = rows ? Ops.asRows(t.delta(i), t.shape()) : t.delta(i).reshape(1, -1);
      unit[i] = d.div(d.norm(new int[] {1}, true).maximum(1e-8f));
    }
    NDArray cos = null;
    int pairs = 0;
    for (int i = 0; i < n; i++) {
      for (int j = i + 1; j < n; j++) {
        NDArray c = unit[i].mul(unit[j]).sum(new int[] {1}, true);
        cos = cos == null ? c : cos.add(c);
        pairs++;
      }
    }
    cos = cos.div(pairs).clip(-1, 1);
    NDArray ratio = cos.mul(n).div(cos.mul(n - 1).add(1));
    NDArray mean = t.stacked().mean(new int[] {0});
    NDArray meanRows = rows ? Ops.asRows(mean, t.shape()) : mean.reshape(1, -1);
    NDArray baseRows = rows ? Ops.asRows(t.base(), t.shape()) : t.base().reshape(1, -1);
    return meanRows.mul(ratio).add(baseRows.mul(ratio.neg().add(1))).reshape(-1);
  }
}
