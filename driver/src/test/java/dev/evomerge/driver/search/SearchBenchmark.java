package dev.evomerge.driver.search;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * Regenerates the search-strategy benchmark table of the README: evaluations each strategy needs to
 * reach a target on standard 10-D functions, median over seeds, against random search. Run with the
 * command given in that file.
 */
public final class SearchBenchmark {
  private static final int N = 10;
  private static final int SEEDS = 5;
  private static final long BUDGET = 50_000;

  private record Problem(String name, ToDoubleFunction<double[]> f, double bound, double target) {}

  private record Contender(String label, String strategy, Map<String, Object> options) {}

  public static void main(String[] args) {
    List<Problem> problems =
        List.of(
            new Problem("sphere", Benchmarks.shifted(Benchmarks::sphere, N, 1), 5, 1e-8),
            new Problem(
                "rotated ellipsoid",
                Benchmarks.shifted(Benchmarks.rotatedEllipsoid(N, 42), N, 2),
                5,
                1e-8),
            new Problem("Rosenbrock", Benchmarks::rosenbrock, 5, 1e-8),
            new Problem("Rastrigin", Benchmarks.shifted(Benchmarks::rastrigin, N, 3), 5.12, 10));
    List<Contender> contenders = new ArrayList<>();
    contenders.add(new Contender("random search", "random", Map.of("populationSize", 20)));
    contenders.add(
        new Contender(
            "DE Evolver (NP 20)", "de", Map.of("variant", "evolver", "populationSize", 20)));
    contenders.add(
        new Contender(
            "DE rand/1/bin (NP 40)", "de", Map.of("variant", "rand1bin", "populationSize", 40)));
    contenders.add(
        new Contender("GA (pop 40)", "ga", Map.of("populationSize", 40, "mutationRate", 0.2)));
    Map<String, Object> cma = new LinkedHashMap<>();
    cma.put("sigma0", 2.0);
    cma.put("restarts", 9);
    contenders.add(new Contender("CMA-ES, IPOP (sigma0 2)", "cmaes", cma));

    StringBuilder header = new StringBuilder("| strategy |");
    StringBuilder rule = new StringBuilder("|---|");
    for (Problem p : problems) {
      header.append(' ').append(p.name()).append(" to ").append(p.target()).append(" |");
      rule.append("---|");
    }
    System.out.println(header);
    System.out.println(rule);
    for (Contender c : contenders) {
      StringBuilder row = new StringBuilder("| ").append(c.label()).append(" |");
      for (Problem p : problems) {
        long[] evals = new long[SEEDS];
        double[] bests = new double[SEEDS];
        int reached = 0;
        for (int seed = 0; seed < SEEDS; seed++) {
          SearchStrategy s =
              Strategies.create(
                  c.strategy(),
                  c.options(),
                  Bounds.uniform(N, -p.bound(), p.bound()),
                  List.of(),
                  seed);
          Benchmarks.Outcome o = Benchmarks.minimise(s, p.f(), BUDGET, p.target());
          evals[seed] = o.evaluationsToTarget() < 0 ? Long.MAX_VALUE : o.evaluationsToTarget();
          bests[seed] = o.best();
          reached += o.evaluationsToTarget() < 0 ? 0 : 1;
        }
        Arrays.sort(evals);
        Arrays.sort(bests);
        long median = evals[SEEDS / 2];
        row.append(' ')
            .append(
                median == Long.MAX_VALUE
                    ? String.format("not reached (median best %.3g)", bests[SEEDS / 2])
                    : String.valueOf(median))
            .append(" (")
            .append(reached)
            .append('/')
            .append(SEEDS)
            .append(") |");
      }
      System.out.println(row);
    }
  }
}
