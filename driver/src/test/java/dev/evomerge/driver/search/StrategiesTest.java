package dev.evomerge.driver.search;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StrategiesTest {
  private static final Bounds B = Bounds.uniform(3, 0, 1);

  @Test
  void createsEachStrategyByName() {
    assertInstanceOf(RandomSearch.class, Strategies.create("random", Map.of(), B, List.of(), 1));
    assertInstanceOf(
        DifferentialEvolution.class, Strategies.create("de", Map.of(), B, List.of(), 1));
    assertInstanceOf(CmaEs.class, Strategies.create("cmaes", Map.of(), B, List.of(), 1));
    assertInstanceOf(GeneticAlgorithm.class, Strategies.create("ga", Map.of(), B, List.of(), 1));
    assertInstanceOf(Nsga2.class, Strategies.create("nsga2", Map.of(), B, List.of(), 1));
  }

  @Test
  void unknownNameSuggestsTheNearest() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Strategies.create("cma-es", Map.of(), B, List.of(), 1));
    assertTrue(e.getMessage().contains("did you mean 'cmaes'"), e.getMessage());
  }

  @Test
  void unknownOptionSuggestsTheNearest() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Strategies.create("ga", Map.of("mutationSigm", 0.1), B, List.of(), 1));
    assertTrue(e.getMessage().contains("did you mean 'mutationSigma'"), e.getMessage());
  }

  @Test
  void invalidChoiceSuggestsTheNearest() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Strategies.create("de", Map.of("variant", "rand1"), B, List.of(), 1));
    assertTrue(e.getMessage().contains("did you mean 'rand1bin'"), e.getMessage());
  }

  @Test
  void firstGenerationHoldsTheInitialGenomes() {
    List<Genome> initial =
        List.of(new Genome(new double[] {0.5, 0.5, 0.5}), new Genome(new double[] {1, 0, 0}));
    for (String name : List.of("de", "ga", "nsga2")) {
      List<Genome> first = Strategies.create(name, Map.of(), B, initial, 1).ask();
      assertEquals(initial, first.subList(0, 2), name);
    }
    CmaEs cma = (CmaEs) Strategies.create("cmaes", Map.of(), B, initial, 1);
    assertEquals(List.of(0.5, 0.5, 0.5), java.util.Arrays.stream(cma.mean()).boxed().toList());
  }

  @Test
  void evolverMutantLiesOnTheSegmentTowardsAnotherIndividual() {
    // F = 1 and CR = 1: the trial is exactly another individual, so every trial is a parent
    List<Genome> initial =
        List.of(
            new Genome(new double[] {0, 0, 0}),
            new Genome(new double[] {1, 1, 1}),
            new Genome(new double[] {0.2, 0.4, 0.6}));
    SearchStrategy de =
        Strategies.create("de", Map.of("populationSize", 3, "F", 1.0, "CR", 1.0), B, initial, 2);
    de.tell(de.ask(), new double[] {1, 2, 3});
    for (Genome trial : de.ask()) {
      boolean isAParent = false;
      for (Genome parent : initial) {
        boolean close = true;
        for (int j = 0; j < 3; j++) {
          close &= Math.abs(parent.gene(j) - trial.gene(j)) < 1e-12;
        }
        isAParent |= close;
      }
      assertTrue(isAParent, "trial " + trial);
    }
  }

  @Test
  void blockCrossoverInheritsWholeBlocks() {
    // genes 0-1 one block, 2-3 another; CR = 0 takes exactly one block from the mutant
    Bounds blocks = new Bounds(new double[4], new double[] {1, 1, 1, 1}, new int[] {7, 7, 9, 9});
    List<Genome> initial =
        List.of(new Genome(new double[] {0, 0, 0, 0}), new Genome(new double[] {1, 1, 1, 1}));
    SearchStrategy de =
        Strategies.create(
            "de",
            Map.of("populationSize", 2, "F", 0.5, "CR", 0.0, "crossover", "block"),
            blocks,
            initial,
            3);
    de.tell(de.ask(), new double[] {0, 0});
    for (Genome t : de.ask()) {
      assertEquals(t.gene(0), t.gene(1));
      assertEquals(t.gene(2), t.gene(3));
      assertTrue(t.gene(0) != t.gene(2), "exactly one block changed: " + t);
    }
  }

  @Test
  void gaElitesSurviveUnchanged() {
    SearchStrategy ga =
        Strategies.create("ga", Map.of("populationSize", 6, "elite", 2), B, List.of(), 5);
    List<Genome> first = ga.ask();
    assertEquals(6, first.size());
    ga.tell(first, new double[] {1, 6, 3, 5, 2, 4});
    List<Genome> children = ga.ask();
    assertEquals(4, children.size(), "only non-elites are re-evaluated");
    ga.tell(children, new double[] {0, 0, 0, 0});
    List<Evaluated> pop = ((GeneticAlgorithm) ga).population();
    assertEquals(first.get(1), pop.get(0).genome());
    assertEquals(first.get(3), pop.get(1).genome());
    assertEquals(first.get(1), ga.best().genome());
  }

  @Test
  void refinementIsCmaEsStartedAtTheGivenGenomeWithASmallSigma() {
    Genome best = new Genome(new double[] {0.1, 0.9, 0.4});
    SearchRun.Spec spec = Strategies.refinement(best, B, 0.05, 3);
    CmaEs cma = (CmaEs) Strategies.create(spec.strategy(), spec.options(), B, List.of(), 3);
    assertEquals(List.of(0.1, 0.9, 0.4), java.util.Arrays.stream(cma.mean()).boxed().toList());
    assertEquals(0.05, cma.sigma(), 1e-15);
  }

  @Test
  void warmStartSeedsANewRunWithTheFinalPopulation() {
    SearchStrategy ga = Strategies.create("ga", Map.of("populationSize", 6), B, List.of(), 5);
    List<Genome> first = ga.ask();
    ga.tell(first, new double[] {1, 6, 3, 5, 2, 4});
    List<Genome> warm = Strategies.warmStart(ga);
    assertEquals(first.get(1), warm.get(0));
    SearchStrategy next = Strategies.create("de", Map.of("populationSize", 6), B, warm, 6);
    assertEquals(warm, next.ask());
  }

  @Test
  void boundsReflectIntoTheBox() {
    Bounds b = Bounds.uniform(1, 0, 1);
    assertEquals(0.8, b.reflect(0, 1.2), 1e-12);
    assertEquals(0.3, b.reflect(0, -0.3), 1e-12);
    assertEquals(0.5, b.reflect(0, 2.5), 1e-12);
    assertEquals(1.0, b.reflect(0, Double.POSITIVE_INFINITY));
  }

  @Test
  void jacobiDecomposesASymmetricMatrix() {
    double[][] a = {{4, 1, 2}, {1, 3, 0}, {2, 0, 5}};
    SymmetricEigen e = SymmetricEigen.of(a);
    for (int k = 0; k < 3; k++) {
      for (int i = 0; i < 3; i++) {
        double av = 0;
        for (int j = 0; j < 3; j++) {
          av += a[i][j] * e.vectors[j][k];
        }
        assertEquals(e.values[k] * e.vectors[i][k], av, 1e-10);
      }
    }
    assertEquals(12, e.values[0] + e.values[1] + e.values[2], 1e-10);
  }
}
