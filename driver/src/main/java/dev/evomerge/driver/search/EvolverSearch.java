package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Evolver's evolve-then-merge mode (Knowledge Fusion by Evolving Weights, 2024): the population is
 * the sources themselves, each individual held as coefficients over the sources, and what is scored
 * is the whole population merged (averaged, Fisher or RegMean: the evaluator's business). A genome
 * here is the population: {@code individuals} blocks of {@code d} coefficients.
 *
 * <p>Generation 0 scores the initial population. Each later generation makes, for every individual
 * {@code x_i}, the mutant {@code v = x_i + F (x_r - x_i)} ({@code x_r} another individual,
 * uniformly drawn) and the trial {@code u} by binomial crossover per crossover block of the bounds
 * ({@code u} takes a block from {@code v} with probability {@code CR}, one block always), and asks
 * for the populations "current population with {@code x_i} replaced by {@code u_i}", scored in one
 * parallel round: {@code trials} of them, for individual {@code t mod individuals} in trial {@code
 * t} (by default one per individual, as in the paper; more give a generation more parallel work).
 * Greedy rule: the trial whose merged population scores best replaces its parent when that score
 * beats the current population's, so the kept population's score is always one that was measured
 * (the paper tries trials one at a time and keeps each improving one; here one improving trial per
 * generation is kept, so a generation runs in parallel).
 */
public final class EvolverSearch extends AbstractStrategy {
  private final int individuals;
  private final int trials;
  private final int d;
  private final double f;
  private final double cr;
  private final int[] blockIds;
  private final int blockCount;
  private double[] population;
  private double fitness = Double.NaN;

  /**
   * @param bounds of a population genome ({@code individuals * d} genes); the crossover blocks of
   *     the first individual's genes are every individual's
   * @param initial the starting population (by default each source alone)
   */
  public EvolverSearch(
      Bounds bounds, int individuals, int trials, double f, double cr, Genome initial, long seed) {
    super(bounds, seed);
    Preconditions.checkArgument(
        individuals >= 2, "Invalid Evolver population: %s individuals (at least 2)", individuals);
    Preconditions.checkArgument(
        trials >= 1, "Invalid Evolver trials per generation (populationSize): %s", trials);
    Preconditions.checkArgument(
        n % individuals == 0,
        "Invalid Evolver genome: %s genes for %s individuals",
        n,
        individuals);
    Preconditions.checkArgument(f > 0 && f <= 1, "Invalid Evolver F: %s (in (0, 1])", f);
    Preconditions.checkArgument(cr >= 0 && cr <= 1, "Invalid Evolver CR: %s", cr);
    Preconditions.checkArgument(initial != null, "Evolver needs an initial population");
    bounds.checkGenome(initial, "The initial population");
    this.individuals = individuals;
    this.trials = trials;
    this.d = n / individuals;
    this.f = f;
    this.cr = cr;
    this.population = bounds.repair(initial.genes());
    this.blockIds = new int[d];
    java.util.Map<Integer, Integer> dense = new java.util.LinkedHashMap<>();
    for (int j = 0; j < d; j++) {
      blockIds[j] = dense.computeIfAbsent(bounds.block(j), k -> dense.size());
    }
    this.blockCount = dense.size();
  }

  @Override
  List<Genome> propose() {
    if (Double.isNaN(fitness)) {
      return List.of(new Genome(population));
    }
    List<Genome> out = new ArrayList<>(trials);
    for (int t = 0; t < trials; t++) {
      int i = t % individuals;
      int r = rng.otherThan(individuals, i);
      boolean[] fromMutant = new boolean[blockCount];
      int forced = rng.nextInt(blockCount);
      for (int k = 0; k < blockCount; k++) {
        fromMutant[k] = k == forced || rng.uniform() < cr;
      }
      double[] trial = population.clone();
      for (int j = 0; j < d; j++) {
        if (fromMutant[blockIds[j]]) {
          int at = i * d + j;
          double x = population[at];
          trial[at] = bounds.reflect(at, x + f * (population[r * d + j] - x));
        }
      }
      out.add(new Genome(trial));
    }
    return out;
  }

  @Override
  void learn(List<Genome> candidates, double[] scores) {
    if (Double.isNaN(fitness)) {
      fitness = scores[0];
      return;
    }
    int best = DifferentialEvolution.argmax(scores);
    // greedy: the best trial replaces its parent only when its merged population is strictly better
    if (scores[best] > fitness) {
      population = candidates.get(best).genes();
      fitness = scores[best];
    }
  }

  /** The current population as one genome, with its merged score. */
  @Override
  public List<Evaluated> population() {
    return Double.isNaN(fitness)
        ? List.of()
        : List.of(new Evaluated(new Genome(population), fitness));
  }

  /** Individual {@code i}'s coefficients in the current population. */
  public double[] individual(int i) {
    return Arrays.copyOfRange(population, i * d, (i + 1) * d);
  }
}
