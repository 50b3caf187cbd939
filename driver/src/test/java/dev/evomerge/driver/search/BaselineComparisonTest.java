package dev.evomerge.driver.search;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** DE and GA against the random-search baseline at equal budget, over several seeds. */
class BaselineComparisonTest {
  private static final int N = 10;
  private static final int BUDGET = 4000;
  private static final int SEEDS = 5;

  private static double[] bests(
      String name, Map<String, Object> options, ToDoubleFunction<double[]> f, Bounds bounds) {
    double[] out = new double[SEEDS];
    for (int seed = 0; seed < SEEDS; seed++) {
      SearchStrategy s = Strategies.create(name, options, bounds, List.of(), 1000 + seed);
      out[seed] = Benchmarks.minimise(s, f, BUDGET, Double.NEGATIVE_INFINITY).best();
    }
    return out;
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  private static Map<String, Object> options(String strategy) {
    return switch (strategy) {
      case "de-evolver" -> Map.of("variant", "evolver", "populationSize", 20);
      case "de-rand1bin" -> Map.of("variant", "rand1bin", "populationSize", 40);
      case "ga-tournament" -> Map.of("populationSize", 40, "mutationRate", 0.2);
      case "ga-rank-blend" ->
          Map.of(
              "populationSize", 40, "selection", "rank", "crossover", "blend", "mutationRate", 0.2);
      default -> throw new IllegalArgumentException(strategy);
    };
  }

  @ParameterizedTest
  @ValueSource(strings = {"de-evolver", "de-rand1bin", "ga-tournament", "ga-rank-blend"})
  void beatsRandomSearchOnRastriginAtEqualBudget(String strategy) {
    Bounds bounds = Bounds.uniform(N, -5.12, 5.12);
    double[] random = bests("random", Map.of("populationSize", 20), Benchmarks::rastrigin, bounds);
    double[] evolved =
        bests(strategy.substring(0, 2), options(strategy), Benchmarks::rastrigin, bounds);
    assertTrue(
        median(evolved) < 0.7 * median(random) && max(evolved) < min(random),
        strategy + " " + Arrays.toString(evolved) + " vs random " + Arrays.toString(random));
  }

  @ParameterizedTest
  @ValueSource(strings = {"de-evolver", "de-rand1bin", "ga-tournament", "ga-rank-blend"})
  void beatsRandomSearchOnSphereAtEqualBudget(String strategy) {
    Bounds bounds = Bounds.uniform(N, -5, 5);
    double[] random = bests("random", Map.of("populationSize", 20), Benchmarks::sphere, bounds);
    double[] evolved =
        bests(strategy.substring(0, 2), options(strategy), Benchmarks::sphere, bounds);
    assertTrue(
        median(evolved) < 0.1 * median(random),
        strategy + " " + Arrays.toString(evolved) + " vs random " + Arrays.toString(random));
  }

  private static double max(double[] v) {
    return Arrays.stream(v).max().orElseThrow();
  }

  private static double min(double[] v) {
    return Arrays.stream(v).min().orElseThrow();
  }
}
