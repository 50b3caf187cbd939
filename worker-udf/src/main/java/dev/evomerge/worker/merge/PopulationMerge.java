package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A population of linear combinations of the sources, merged by a method (Evolver's integration):
 * individual {@code i} is {@code x_i = sum_k c_ik theta_k}, and the result is {@code method} over
 * the individuals with weight 1 each, individual {@code i} carrying the statistics of source {@code
 * i} (Fisher: {@code sum_i F_i x_i / sum_i F_i}; RegMean: {@code (sum_i G~_i)^-1 sum_i G~_i x_i^T};
 * linear with {@code normalize}: the average). With the identity as coefficients it is the method's
 * merge of the sources themselves.
 */
public final class PopulationMerge {
  private PopulationMerge() {}

  /**
   * Merges one tensor of the population.
   *
   * @param sources the sources' prepared tensor (with the statistics {@code method} needs)
   * @param coefficients {@code [individual][source]}, as many individuals as sources
   * @param global {@code method}'s global parameters (defaults filled in for what is missing)
   * @param out owns the result
   */
  public static NDArray combine(
      MergeMethod method,
      Map<String, Object> global,
      PreparedTensor sources,
      double[][] coefficients,
      NDManager out) {
    int n = sources.count();
    Preconditions.checkArgument(
        coefficients.length == n,
        "Tensor %s: a population of %s individuals for %s sources (one per source)",
        sources.name(),
        coefficients.length,
        n);
    float[] c = new float[n * n];
    for (int i = 0; i < n; i++) {
      Preconditions.checkArgument(
          coefficients[i].length == n,
          "Tensor %s: individual %s has %s coefficients for %s sources",
          sources.name(),
          i,
          coefficients[i].length,
          n);
      for (int k = 0; k < n; k++) {
        c[i * n + k] = (float) coefficients[i][k];
      }
    }
    List<String> names = new ArrayList<>();
    List<Map<String, Object>> perModel = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      names.add("individual-" + i);
      perModel.add(Map.of("weight", 1.0));
    }
    ResolvedParams params = Params.resolve(method, global, perModel, 0, sources.name(), names);
    try (NDManager scratch = sources.manager().newSubManager();
        NDScope scope = new NDScope()) {
      scope.suppressNotUsedWarning();
      NDArray individuals = scratch.create(c, new Shape(n, n)).matMul(sources.stacked());
      individuals.attach(scratch);
      NDScope.unregister(individuals);
      PreparedTensor population =
          new PreparedTensor(sources.name(), sources.shape(), individuals, null, null);
      for (MergeStatistics.Kind kind : method.statistics()) {
        NDArray s = sources.statistic(kind);
        if (s != null) {
          population.putStatistic(kind, s); // shared, not owned: scratch closes only its own
        }
      }
      return MergeEngine.combine(method, population, params, out);
    }
  }
}
