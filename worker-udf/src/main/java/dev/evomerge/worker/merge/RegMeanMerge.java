package dev.evomerge.worker.merge;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import com.google.common.base.Preconditions;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * RegMean (Jin et al.): for a linear layer's weight {@code W_i [out, in]} (HF orientation, {@code y
 * = x W^T}) and the Gram matrix {@code G_i = X_i^T X_i [in, in]} of its inputs on model {@code i}'s
 * data, {@code W*^T = (sum_i w_i G~_i)^-1 sum_i w_i G~_i W_i^T}, where {@code G~_i} keeps the
 * diagonal of {@code G_i} and scales its off-diagonal entries by {@code alpha}. Tensors without
 * Gram matrices (embeddings, norms, biases) are the weighted average {@code sum w_i x_i / sum w_i}.
 * Block-diagonal Gram matrices {@code [in / b, b, b]} (large layers, see {@code
 * StatisticsOptions#gramBlock}) solve one {@code b x b} system per block: RegMean with the entries
 * outside the diagonal blocks taken as zero.
 */
final class RegMeanMerge implements MergeMethod {
  @Override
  public String name() {
    return "regmean";
  }

  @Override
  public BaseUse baseUse() {
    return BaseUse.NONE;
  }

  @Override
  public Map<String, Object> globalDefaults() {
    return Map.of("alpha", 0.1);
  }

  @Override
  public Map<String, Object> perModelDefaults() {
    return Map.of("weight", 1.0);
  }

  @Override
  public Set<MergeStatistics.Kind> statistics() {
    return Set.of(MergeStatistics.Kind.GRAM);
  }

  @Override
  public void validate(ResolvedParams p, String where, List<String> models) {
    double alpha = p.num("alpha");
    Preconditions.checkArgument(
        alpha >= 0 && alpha <= 1,
        "Invalid alpha for regmean at %s: %s (must be in [0, 1])",
        where,
        alpha);
    FisherMerge.checkWeights(p, where, models, name());
  }

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    double[] w = p.nums("weight");
    NDArray gram = t.statistic(MergeStatistics.Kind.GRAM);
    if (gram == null) {
      double sum = Ops.sum(w);
      double[] scaled = new double[w.length];
      for (int i = 0; i < w.length; i++) {
        scaled[i] = w[i] / sum;
      }
      return Ops.weightedSum(t.stacked(), scaled);
    }
    int n = t.count();
    long out = t.shape().get(0);
    long in = t.shape().get(1);
    double alpha = p.num("alpha");
    // full [n, in, in] or block-diagonal [n, nb, b, b]: both as [n, nb, b, b] (full: nb = 1),
    // and the system decouples into one b x b solve per block
    long b = gram.getShape().get(gram.getShape().dimension() - 1);
    long nb = in / b;
    NDArray blocks = gram.reshape(n, nb, b, b);
    // G~ = alpha G + (1 - alpha) diag(G), weighted: [n, nb, b, b]
    NDArray eye = t.manager().eye((int) b);
    NDArray scaled =
        blocks
            .mul(alpha)
            .addi(blocks.mul(eye).muli(1 - alpha))
            .muli(Ops.column(t.manager(), w).reshape(n, 1, 1, 1));
    NDArray lhs = scaled.sum(new int[] {0}); // [nb, b, b]
    NDArray weightsT = t.stacked().reshape(n, out, in).transpose(0, 2, 1).reshape(n, nb, b, out);
    NDArray rhs = scaled.matMul(weightsT).sum(new int[] {0}); // [nb, b, out]
    NDArray inverse;
    try {
      inverse = lhs.inverse();
    } catch (EngineException e) {
      throw new IllegalArgumentException(
          String.format(
              "regmean: the Gram matrices of tensor %s sum to a singular matrix (%s)",
              t.name(), e.getMessage()),
          e);
    }
    return inverse.matMul(rhs).reshape(in, out).transpose().reshape(-1);
  }
}
