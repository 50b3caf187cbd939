package dev.evomerge.worker.eval;

import com.google.common.base.Preconditions;
import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * A candidate that is a whole population merged (Evolver's evolve-then-merge mode): the population
 * has one individual per source, each a linear combination of the sources (the spec's {@code
 * linear} genome: one weight per source and cell, unnormalised), and the candidate is the
 * population merged by {@code method} ({@code linear}: the average; {@code fisher}, {@code
 * regmean}), individual {@code i} weighing with the statistics of source {@code i} (its data).
 *
 * <p>A candidate's genome is the individuals' genomes one after the other: {@code sources x
 * EvalSpec.genomeLength()} values.
 *
 * @param method the merge of the population: linear (average), fisher or regmean
 * @param parameters that method's global parameters (regmean's alpha, fisher's epsilon)
 * @param statistics per source, in source order, the folder of its statistics (empty for linear)
 * @param statisticsKeys per source, what identifies those statistics (cache key of the executors'
 *     resident copy); may be empty before they are computed
 */
public record PopulationSpec(
    String method,
    Map<String, Object> parameters,
    List<String> statistics,
    List<String> statisticsKeys)
    implements Serializable {
  public PopulationSpec {
    Preconditions.checkArgument(
        List.of("linear", "fisher", "regmean").contains(method),
        "Invalid population merge method: %s (linear, fisher or regmean)",
        method);
    parameters = Map.copyOf(parameters);
    statistics = List.copyOf(statistics);
    statisticsKeys = List.copyOf(statisticsKeys);
  }

  /** The same population merge with the identities of its computed statistics. */
  public PopulationSpec withStatisticsKeys(List<String> keys) {
    return new PopulationSpec(method, parameters, statistics, keys);
  }

  /** Values of a candidate: one individual genome per source. */
  public static int genomeLength(EvalSpec spec) {
    return spec.sourceUris().size() * spec.genomeLength();
  }

  /**
   * The coefficients of one tensor: {@code [individual][source]}, individual {@code i}'s weight of
   * source {@code k} in the tensor's cell.
   */
  public static double[][] coefficients(EvalSpec spec, double[] genome, String tensor) {
    int n = spec.sourceUris().size();
    int individual = spec.genomeLength();
    Preconditions.checkArgument(
        genome.length == n * individual,
        "Population genome has %s values; %s individuals of %s need %s",
        genome.length,
        n,
        individual,
        n * individual);
    int cells = spec.layout().cells();
    int cell = spec.layout().cellOf(tensor);
    double[][] c = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int k = 0; k < n; k++) {
        c[i][k] = genome[i * individual + k * cells + cell];
      }
    }
    return c;
  }

  /** Individual {@code i}'s genome, a linear merge over the sources in the spec's layout. */
  public static double[] individual(EvalSpec spec, double[] genome, int i) {
    int individual = spec.genomeLength();
    return java.util.Arrays.copyOfRange(genome, i * individual, (i + 1) * individual);
  }
}
