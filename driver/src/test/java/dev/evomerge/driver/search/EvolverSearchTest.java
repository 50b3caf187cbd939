package dev.evomerge.driver.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EvolverSearchTest {
  /** 3 individuals over 3 sources, 2 cells each: genome index i*6 + k*2 + c. */
  private static final int N = 3;

  private static final int CELLS = 2;

  private static final int D = N * CELLS;

  private static Bounds bounds() {
    double[] lo = new double[N * D];
    double[] hi = new double[N * D];
    int[] blocks = new int[N * D];
    for (int j = 0; j < N * D; j++) {
      hi[j] = 1;
      blocks[j] = j % CELLS;
    }
    return new Bounds(lo, hi, blocks);
  }

  private static Genome identity() {
    double[] g = new double[N * D];
    for (int i = 0; i < N; i++) {
      for (int c = 0; c < CELLS; c++) {
        g[i * D + i * CELLS + c] = 1;
      }
    }
    return new Genome(g);
  }

  private static SearchRun run(long seed) {
    return SearchRun.start(
        new SearchRun.Spec("evolver", Map.of("individuals", N, "F", 0.5, "CR", 0.5), seed),
        bounds(),
        List.of(identity()),
        StoppingRules.none());
  }

  /**
   * A made-up merged score: how close the population's mean coefficients are to (0.5, 0.3, 0.2).
   */
  private static double score(Genome g) {
    double[] target = {0.5, 0.3, 0.2};
    double loss = 0;
    for (int k = 0; k < N; k++) {
      for (int c = 0; c < CELLS; c++) {
        double mean = 0;
        for (int i = 0; i < N; i++) {
          mean += g.genes()[i * D + k * CELLS + c] / N;
        }
        loss += (mean - target[k]) * (mean - target[k]);
      }
    }
    return -loss;
  }

  private static List<List<Genome>> drive(SearchRun run, int generations) {
    List<List<Genome>> asked = new ArrayList<>();
    for (int g = 0; g < generations; g++) {
      List<Genome> c = run.ask();
      asked.add(c);
      run.tell(c, c.stream().mapToDouble(EvolverSearchTest::score).toArray());
    }
    return asked;
  }

  @Test
  void theFirstGenerationIsTheInitialPopulationThenOneTrialPerIndividual() {
    SearchRun run = run(5);
    List<Genome> first = run.ask();
    assertEquals(List.of(identity()), first);
    run.tell(first, new double[] {score(first.get(0))});
    List<Genome> trials = run.ask();
    assertEquals(N, trials.size());
    for (int i = 0; i < N; i++) {
      double[] t = trials.get(i).genes();
      double[] p = identity().genes();
      boolean changed = false;
      for (int j = 0; j < t.length; j++) {
        if (j / D != i) {
          assertEquals(p[j], t[j], "trial " + i + " changed individual " + j / D);
        } else {
          changed |= t[j] != p[j];
          assertTrue(t[j] >= 0 && t[j] <= 1);
        }
      }
      assertTrue(changed, "trial " + i + " equals its parent");
      // crossover by cell: a cell's coefficients come all from the mutant or all from the parent
      for (int c = 0; c < CELLS; c++) {
        boolean fromParent = true;
        for (int k = 0; k < N; k++) {
          fromParent &= t[i * D + k * CELLS + c] == p[i * D + k * CELLS + c];
        }
        double own = t[i * D + i * CELLS + c];
        // mutant of a one-hot parent toward another one-hot individual: own coefficient 1 - F
        assertTrue(fromParent || Math.abs(own - 0.5) < 1e-12, "cell " + c + " of trial " + i);
      }
    }
  }

  @Test
  void onlyAnImprovingTrialIsKeptAndTheBestOneWins() {
    SearchRun run = run(7);
    List<Genome> first = run.ask();
    run.tell(first, new double[] {1.0});
    List<Genome> trials = run.ask();
    run.tell(trials, new double[] {0.5, 0.9, 0.7}); // none beats 1.0
    EvolverSearch s = (EvolverSearch) run.strategy();
    assertEquals(first.get(0), s.population().get(0).genome());
    assertEquals(1.0, s.population().get(0).fitness());
    List<Genome> next = run.ask();
    run.tell(next, new double[] {1.1, 1.5, 1.2}); // trial 1 is the best improvement
    assertEquals(next.get(1), s.population().get(0).genome());
    assertEquals(1.5, run.best().fitness());
    assertArrayEquals(
        java.util.Arrays.copyOfRange(next.get(1).genes(), D, 2 * D), s.individual(1), 0);
    // the next trials start from the kept population
    for (Genome g : run.ask()) {
      int differs = 0;
      for (int i = 0; i < N; i++) {
        double[] a = java.util.Arrays.copyOfRange(g.genes(), i * D, (i + 1) * D);
        differs += java.util.Arrays.equals(a, s.individual(i)) ? 0 : 1;
      }
      assertEquals(1, differs);
    }
  }

  @Test
  void seededReplayableAndImproving() {
    List<List<Genome>> a = drive(run(11), 10);
    assertEquals(a, drive(run(11), 10));
    assertNotEquals(a.subList(0, 3), drive(run(12), 3));
    SearchRun r = run(11);
    drive(r, 10);
    assertTrue(r.best().fitness() > score(identity()), "no improvement: " + r.best());
    // resumed from a checkpoint, it goes on exactly as the uninterrupted run
    SearchRun first = run(11);
    drive(first, 4);
    SearchRun resumed = SearchRun.restore(first.checkpointJson());
    assertEquals(a.subList(4, 10), drive(resumed, 6));
    assertEquals(r.best(), resumed.best());
  }

  @Test
  void badSettingsAreRefused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                SearchRun.start(
                    new SearchRun.Spec("evolver", Map.of("individuals", 4), 1),
                    bounds(),
                    List.of(identity()),
                    StoppingRules.none()));
    assertTrue(e.getMessage().contains("18 genes for 4 individuals"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                SearchRun.start(
                    new SearchRun.Spec("evolver", Map.of("individuals", N, "F", 1.5), 1),
                    bounds(),
                    List.of(identity()),
                    StoppingRules.none()));
    assertTrue(e.getMessage().contains("Invalid Evolver F: 1.5"), e.getMessage());
  }
}
