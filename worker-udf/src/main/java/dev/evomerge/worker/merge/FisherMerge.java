package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import com.google.common.base.Preconditions;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fisher merging (Matena and Raffel): per element {@code sum_i w_i F_i x_i / sum_i w_i F_i}, with
 * {@code F_i} the diagonal Fisher information of model {@code i} floored at {@code epsilon}, so
 * entries no model has information about fall back to the weighted average.
 */
final class FisherMerge implements MergeMethod {
  @Override
  public String name() {
    return "fisher";
  }

  @Override
  public BaseUse baseUse() {
    return BaseUse.NONE;
  }

  @Override
  public Map<String, Object> globalDefaults() {
    return Map.of("epsilon", 1e-8);
  }

  @Override
  public Map<String, Object> perModelDefaults() {
    return Map.of("weight", 1.0);
  }

  @Override
  public Set<MergeStatistics.Kind> statistics() {
    return Set.of(MergeStatistics.Kind.FISHER);
  }

  @Override
  public void validate(ResolvedParams p, String where, List<String> models) {
    Preconditions.checkArgument(
        p.num("epsilon") > 0,
        "Invalid epsilon for fisher at %s: %s (must be > 0)",
        where,
        p.num("epsilon"));
    checkWeights(p, where, models, name());
  }

  /** Non-negative weights with a positive sum: the divisors of both data-driven methods. */
  static void checkWeights(ResolvedParams p, String where, List<String> models, String method) {
    double sum = 0;
    for (int i = 0; i < models.size(); i++) {
      double w = p.num(i, "weight");
      Preconditions.checkArgument(
          w >= 0,
          "Invalid weight for model %s at %s: %s (%s needs w >= 0)",
          models.get(i),
          where,
          w,
          method);
      sum += w;
    }
    Preconditions.checkArgument(
        sum > 0, "Weights of %s at %s sum to 0 (method %s)", models, where, method);
  }

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    NDArray fisher = t.statistic(MergeStatistics.Kind.FISHER);
    Preconditions.checkArgument(fisher != null, "No Fisher statistics for tensor %s", t.name());
    NDArray wf =
        fisher
            .reshape(t.count(), -1)
            .maximum((float) p.num("epsilon"))
            .muli(Ops.column(t.manager(), p.nums("weight")));
    NDArray divisor = wf.sum(new int[] {0});
    return wf.muli(t.stacked()).sum(new int[] {0}).divi(divisor);
  }
}
