package dev.evomerge.driver.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;

class CmaEsTest {
  private static final int N = 10;

  private static CmaEs cma(Bounds bounds, double start, double sigma, int restarts, long seed) {
    double[] s = new double[bounds.dimension()];
    java.util.Arrays.fill(s, start);
    return new CmaEs(bounds, new CmaEs.Config(s, sigma, 0, restarts, 2, 1e-12, 1e-12, 1e14), seed);
  }

  private static long[] evaluationsToTarget(
      ToDoubleFunction<double[]> f, double start, int restarts, long budget) {
    long[] out = new long[5];
    for (int seed = 0; seed < out.length; seed++) {
      CmaEs s = cma(Bounds.uniform(N, -5, 5), start, 1, restarts, seed);
      out[seed] = Benchmarks.minimise(s, f, budget, 1e-8).evaluationsToTarget();
    }
    return out;
  }

  @Test
  void defaultPopulationIsFourPlusThreeLogN() {
    assertEquals(
        10,
        new CmaEs(Bounds.uniform(10, 0, 1), CmaEs.Config.defaults(Bounds.uniform(10, 0, 1)), 1)
            .populationSize());
    assertEquals(
        4 + (int) Math.floor(3 * Math.log(100)),
        cma(Bounds.uniform(100, 0, 1), 0.5, 0.1, 0, 1).populationSize());
  }

  @Test
  void sakanaDefaultsStartAtHalfWithSigmaOneSixthOnTheUnitBox() {
    CmaEs s = new CmaEs(Bounds.uniform(6, 0, 1), CmaEs.Config.defaults(Bounds.uniform(6, 0, 1)), 3);
    assertEquals(1.0 / 6, s.sigma(), 1e-15);
    for (double m : s.mean()) {
      assertEquals(0.5, m);
    }
  }

  @Test
  void solvesTenDimensionalSphereToOneEMinusEight() {
    long[] evals = evaluationsToTarget(Benchmarks::sphere, 3, 0, 5000);
    for (long e : evals) {
      // reference CMA-ES needs about 1500-2000 evaluations here
      assertTrue(e > 0 && e <= 2500, "evaluations to 1e-8: " + java.util.Arrays.toString(evals));
    }
  }

  @Test
  void solvesRotatedEllipsoidToOneEMinusEight() {
    long[] evals = evaluationsToTarget(Benchmarks.rotatedEllipsoid(N, 42), 3, 0, 20000);
    for (long e : evals) {
      assertTrue(e > 0 && e <= 12000, "evaluations to 1e-8: " + java.util.Arrays.toString(evals));
    }
  }

  @Test
  void solvesTenDimensionalRosenbrockToOneEMinusEightWithRestarts() {
    long[] evals = evaluationsToTarget(Benchmarks::rosenbrock, 0, 5, 30000);
    for (long e : evals) {
      assertTrue(e > 0 && e <= 20000, "evaluations to 1e-8: " + java.util.Arrays.toString(evals));
    }
  }

  @Test
  void ipopRestartDoublesThePopulationOnceConverged() {
    // sphere converges quickly; tolX then triggers the restart
    CmaEs s =
        new CmaEs(
            Bounds.uniform(4, -5, 5), new CmaEs.Config(null, 1, 0, 2, 2, 1e-6, 1e-12, 1e14), 7);
    int before = s.populationSize();
    Benchmarks.minimise(s, Benchmarks::sphere, 20000, -1);
    assertEquals(2, s.restarts());
    assertEquals(before * 4, s.populationSize());
  }

  @Test
  void failedCandidatesDoNotDerailTheSearch() {
    CmaEs s = cma(Bounds.uniform(5, -5, 5), 2, 1, 0, 11);
    java.util.concurrent.atomic.AtomicInteger calls =
        new java.util.concurrent.atomic.AtomicInteger();
    ToDoubleFunction<double[]> flaky =
        x -> calls.incrementAndGet() % 7 == 0 ? Double.NaN : Benchmarks.sphere(x);
    Benchmarks.Outcome o = Benchmarks.minimise(s, flaky, 3000, 1e-6);
    assertTrue(o.evaluationsToTarget() > 0, "best " + o.best());
  }

  @Test
  void aGenerationOfMostlyFailedCandidatesLeavesTheDistributionAlone() {
    CmaEs s = cma(Bounds.uniform(5, -5, 5), 2, 1, 0, 11);
    double[] mean = s.mean();
    List<Genome> c = s.ask();
    double[] f = new double[c.size()];
    java.util.Arrays.fill(f, Double.NaN);
    f[0] = 1;
    s.tell(c, f);
    assertArrayEquals(mean, s.mean());
    assertEquals(1.0, s.sigma());
    assertEquals(c.get(0), s.best().genome());
    assertNotEquals(c, s.ask(), "the next generation is a fresh sample");
  }
}
