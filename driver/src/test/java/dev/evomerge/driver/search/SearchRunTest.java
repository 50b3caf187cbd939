package dev.evomerge.driver.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Reproducibility, checkpoint/resume, bounds and stopping rules, for every strategy. */
class SearchRunTest {
  // asymmetric bounds; the fitness pulls genes outside them
  private static final Bounds BOUNDS =
      new Bounds(new double[] {-1, 0, 2, -3, 0.5}, new double[] {1, 0.25, 5, -2, 0.75}, null);

  /** Rewards being far out; every tenth evaluation fails. */
  private static double fitness(Genome g, int index) {
    if (index % 10 == 3) {
      return Double.NaN;
    }
    double s = 0;
    for (int i = 0; i < g.size(); i++) {
      s += Math.abs(g.gene(i) - 10 * i + 7) + Math.sin(3 * g.gene(i));
    }
    return s;
  }

  private static double[][] objectives(List<Genome> c, int offset) {
    double[][] o = new double[c.size()][];
    for (int i = 0; i < c.size(); i++) {
      double f = fitness(c.get(i), offset + i);
      o[i] = new double[] {f, -c.get(i).gene(0) * c.get(i).gene(0)};
    }
    return o;
  }

  private static List<List<Genome>> drive(SearchRun run, int generations) {
    List<List<Genome>> asked = new ArrayList<>();
    for (int g = 0; g < generations; g++) {
      List<Genome> c = run.ask();
      asked.add(c);
      int offset = (int) run.evaluations();
      if (run.strategy() instanceof MultiObjectiveStrategy) {
        run.tell(c, objectives(c, offset));
      } else {
        double[] f = new double[c.size()];
        for (int i = 0; i < f.length; i++) {
          f[i] = fitness(c.get(i), offset + i);
        }
        run.tell(c, f);
      }
    }
    return asked;
  }

  private static SearchRun run(String strategy, long seed) {
    List<Genome> initial = List.of(new Genome(BOUNDS.center()), new Genome(BOUNDS.lower()));
    return SearchRun.start(
        new SearchRun.Spec(strategy, Map.of(), seed), BOUNDS, initial, StoppingRules.none());
  }

  @ParameterizedTest
  @ValueSource(strings = {"random", "de", "cmaes", "ga", "nsga2", "elitist-gaussian"})
  void sameSeedGivesTheSameCandidates(String strategy) {
    if (strategy.equals("elitist-gaussian")) {
      return; // needs equal bounds on every gene: covered by restore below on its own bounds
    }
    assertEquals(drive(run(strategy, 17), 8), drive(run(strategy, 17), 8));
    assertNotEquals(drive(run(strategy, 17), 3), drive(run(strategy, 18), 3));
  }

  @ParameterizedTest
  @ValueSource(strings = {"random", "de", "cmaes", "ga", "nsga2"})
  void candidatesNeverLeaveTheBounds(String strategy) {
    for (List<Genome> gen : drive(run(strategy, 3), 30)) {
      for (Genome g : gen) {
        assertTrue(BOUNDS.contains(g.genes()), strategy + " proposed " + g);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"random", "de", "cmaes", "ga", "nsga2"})
  void restoredRunContinuesExactlyAsTheUninterruptedOne(String strategy) {
    SearchRun uninterrupted = run(strategy, 99);
    List<List<Genome>> expected = drive(uninterrupted, 12);

    SearchRun first = run(strategy, 99);
    List<List<Genome>> got = new ArrayList<>(drive(first, 5));
    // the driver dies after asking generation 6, before telling it
    first.ask();
    String checkpoint = first.checkpointJson();
    SearchRun resumed = SearchRun.restore(checkpoint);
    assertEquals(5, resumed.generations());
    got.addAll(drive(resumed, 7));

    assertEquals(expected, got);
    assertEquals(uninterrupted.best(), resumed.best());
    assertEquals(uninterrupted.evaluations(), resumed.evaluations());
    // and a checkpoint of the resumed run is the uninterrupted run's, up to the wall clock
    assertEquals(
        uninterrupted.checkpoint().without("elapsedMillis"),
        resumed.checkpoint().without("elapsedMillis"));
  }

  @Test
  void refinementRunWithListOptionsRestoresToo() {
    SearchRun.Spec spec = Strategies.refinement(new Genome(BOUNDS.center()), BOUNDS, 0.1, 8);
    SearchRun a = SearchRun.start(spec, BOUNDS, List.of(), StoppingRules.none());
    drive(a, 3);
    SearchRun b = SearchRun.restore(a.checkpointJson());
    assertEquals(drive(a, 3), drive(b, 3));
  }

  @Test
  void aGlobalGeneReadsAGradientAtMidDepthWhenLayersAreUnknown() {
    GenomeSpace space =
        GenomeSpace.builder("linear", List.of("a", "b")).gene("weight", 0, 1).build();
    MergeRecipe r =
        new MergeRecipe(
            "linear",
            null,
            Map.of("weight", new ParamValue.Gradient(List.of(0.2, 0.6))),
            List.of(),
            List.of(),
            null);
    assertEquals(0.4, space.encode(r).gene(0), 1e-12);
  }

  @Test
  void restoreRejectsALedgerTheStrategyNoLongerProduces() {
    SearchRun r = run("ga", 5);
    drive(r, 3);
    String json = r.checkpointJson().replace("\"seed\":5", "\"seed\":6");
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> SearchRun.restore(json));
    assertTrue(e.getMessage().contains("diverged at generation 0"), e.getMessage());
  }

  @Test
  void tellMustAnswerTheLastAsk() {
    SearchRun r = run("de", 1);
    List<Genome> c = r.ask();
    List<Genome> other = new ArrayList<>(c);
    java.util.Collections.reverse(other);
    assertThrows(IllegalArgumentException.class, () -> r.tell(other, new double[c.size()]));
    assertThrows(IllegalArgumentException.class, () -> r.tell(c, new double[c.size() - 1]));
    assertEquals(c, r.ask(), "asking again before telling repeats the candidates");
  }

  @Test
  void stopsAtTheEvaluationBudget() {
    SearchRun r =
        SearchRun.start(
            new SearchRun.Spec("random", Map.of("populationSize", 7), 1),
            BOUNDS,
            List.of(),
            StoppingRules.budget(20));
    int generations = 0;
    while (r.stopReason().isEmpty()) {
      drive(r, 1);
      generations++;
    }
    assertEquals(3, generations);
    assertEquals(21, r.evaluations());
    assertTrue(r.stopReason().get().contains("budget"));
  }

  @Test
  void stopsOnAPlateauOfKGenerations() {
    SearchRun r =
        SearchRun.start(
            new SearchRun.Spec("random", Map.of("populationSize", 2), 1),
            BOUNDS,
            List.of(),
            new StoppingRules(0, null, 3, 0.5));
    // best: 1, 5, 5.2, 5.3, 5.4 -> over the last 3 generations +0.4 < 0.5
    double[] bests = {1, 5, 5.2, 5.3, 5.4};
    for (int g = 0; g < bests.length; g++) {
      List<Genome> c = r.ask();
      r.tell(c, new double[] {bests[g], 0});
      boolean shouldStop = g == 4;
      assertEquals(shouldStop, r.stopReason().isPresent(), "after generation " + g);
    }
  }

  @Test
  void stopsAtTheWallClockBudgetCountingTimeBeforeAResume() {
    AtomicLong now = new AtomicLong();
    Duration minute = Duration.ofMinutes(1);
    SearchRun r =
        SearchRun.start(
            new SearchRun.Spec("random", Map.of(), 1),
            BOUNDS,
            List.of(),
            new StoppingRules(0, Duration.ofMinutes(2), 0, 0),
            now::get);
    drive(r, 1);
    now.addAndGet(minute.toNanos());
    assertFalse(r.stopReason().isPresent());
    SearchRun resumed = SearchRun.restore(r.checkpoint(), now::get);
    now.addAndGet(minute.toNanos());
    assertTrue(resumed.stopReason().isPresent());
  }

  @Test
  void multiObjectiveScoresNeedAMultiObjectiveStrategy() {
    SearchRun r = run("cmaes", 1);
    List<Genome> c = r.ask();
    assertThrows(IllegalStateException.class, () -> r.tell(c, objectives(c, 0)));
  }

  @Test
  void elitistGaussianRestoresToo() {
    Bounds b = Bounds.uniform(4, 0, 1);
    SearchRun.Spec spec = new SearchRun.Spec("elitist-gaussian", Map.of("elite", 2), 4);
    SearchRun a = SearchRun.start(spec, b, List.of(), StoppingRules.none());
    List<List<Genome>> expected = new ArrayList<>();
    for (int g = 0; g < 6; g++) {
      List<Genome> c = a.ask();
      expected.add(c);
      a.tell(c, c.stream().mapToDouble(x -> x.gene(0) - x.gene(1)).toArray());
      if (g == 2) {
        a = SearchRun.restore(a.checkpointJson());
      }
    }
    SearchRun u = SearchRun.start(spec, b, List.of(), StoppingRules.none());
    for (int g = 0; g < 6; g++) {
      List<Genome> c = u.ask();
      assertEquals(expected.get(g), c);
      u.tell(c, c.stream().mapToDouble(x -> x.gene(0) - x.gene(1)).toArray());
    }
  }
}
