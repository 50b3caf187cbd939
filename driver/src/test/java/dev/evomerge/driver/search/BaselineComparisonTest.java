package dev.evomerge.driver.search;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DE and GA against the random-search baseline at equal budget, over several seeds: the median best
 * must be under half of random search's and every seed better than random search's best seed.
 * (Evolver's DE only moves individuals towards each other, so it stalls early; it still has to beat
 * the baseline.)
 */
class BaselineComparisonTest {
  private static final int N = 10;
  private static final int BUDGET = 4000;
  private static final int SEEDS = 5;
  // optima moved off the centre of the box, which a strategy could otherwise exploit
  private static final ToDoubleFunction<double[]> RASTRIGIN =
      Benchmarks.shifted(Benchmarks::rastrigin, N, 3);
  private static final ToDoubleFunction<double[]> SPHERE =
      Benchmarks.shifted(Benchmarks::sphere, N, 1);

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
    double[] random = bests("random", Map.of("populationSize", 20), RASTRIGIN, bounds);
    double[] evolved = bests(strategy.substring(0, 2), options(strategy), RASTRIGIN, bounds);
    assertTrue(
        median(evolved) < 0.7 * median(random) && max(evolved) < min(random),
        strategy + " " + Arrays.toString(evolved) + " vs random " + Arrays.toString(random));
  }

  @ParameterizedTest
  @ValueSource(strings = {"de-evolver", "de-rand1bin", "ga-tournament", "ga-rank-blend"})
  void beatsRandomSearchOnSphereAtEqualBudget(String strategy) {
    Bounds bounds = Bounds.uniform(N, -5, 5);
    double[] random = bests("random", Map.of("populationSize", 20), SPHERE, bounds);
    double[] evolved = bests(strategy.substring(0, 2), options(strategy), SPHERE, bounds);
    assertTrue(
        median(evolved) < 0.7 * median(random) && max(evolved) < min(random),
        strategy + " " + Arrays.toString(evolved) + " vs random " + Arrays.toString(random));
  }

  private static double max(double[] v) {
    return Arrays.stream(v).max().orElseThrow();
  }

  private static double min(double[] v) {
    return Arrays.stream(v).min().orElseThrow();
  }
}
