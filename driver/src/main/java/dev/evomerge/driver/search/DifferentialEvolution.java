package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.List;

/**
 * Differential evolution with greedy parent replacement. Two mutation rules:
 *
 * <ul>
 *   <li>{@link Variant#EVOLVER}: {@code v = x_i + F (x_r - x_i)}, {@code x_r} another individual,
 *       or with probability {@code bestProbability} the current best (Evolver, 2024);
 *   <li>{@link Variant#RAND_1_BIN}: textbook {@code v = x_a + F (x_b - x_c)}.
 * </ul>
 *
 * Binomial crossover {@code u_j = v_j if U < CR else x_ij}, per gene ({@link Crossover#ELEMENT}) or
 * per gene block ({@link Crossover#BLOCK}: a block is inherited whole, which keeps an individual a
 * linear combination of the sources when genes are per-block coefficients). One gene/block is
 * always taken from the mutant, so a trial never repeats its parent. Mutants are reflected into the
 * bounds.
 */
public final class DifferentialEvolution extends AbstractStrategy {
  public enum Variant {
    EVOLVER,
    RAND_1_BIN
  }

  public enum Crossover {
    ELEMENT,
    BLOCK
  }

  private final Variant variant;
  private final Crossover crossover;
  private final int size;
  private final double f;
  private final double cr;
  private final double bestProbability;
  private final List<Genome> initial;
  private final int[] blockIds;
  private final int blockCount;
  private final List<double[]> population = new ArrayList<>();
  private double[] populationFitness;

  public DifferentialEvolution(
      Bounds bounds,
      Variant variant,
      Crossover crossover,
      int populationSize,
      double f,
      double cr,
      double bestProbability,
      List<Genome> initial,
      long seed) {
    super(bounds, seed);
    int min = variant == Variant.EVOLVER ? 2 : 4;
    Preconditions.checkArgument(
        populationSize >= min,
        "Invalid population for DE %s: %s (at least %s)",
        variant,
        populationSize,
        min);
    Preconditions.checkArgument(f > 0 && f <= 2, "Invalid DE F: %s", f);
    Preconditions.checkArgument(cr >= 0 && cr <= 1, "Invalid DE CR: %s", cr);
    Preconditions.checkArgument(
        bestProbability >= 0 && bestProbability <= 1,
        "Invalid DE best probability: %s",
        bestProbability);
    this.variant = variant;
    this.crossover = crossover;
    this.size = populationSize;
    this.f = f;
    this.cr = cr;
    this.bestProbability = bestProbability;
    this.initial = List.copyOf(initial);
    // dense block ids, in order of first appearance
    this.blockIds = new int[n];
    java.util.Map<Integer, Integer> dense = new java.util.LinkedHashMap<>();
    for (int j = 0; j < n; j++) {
      int b = crossover == Crossover.BLOCK ? bounds.block(j) : j;
      blockIds[j] = dense.computeIfAbsent(b, k -> dense.size());
    }
    this.blockCount = dense.size();
  }

  @Override
  List<Genome> propose() {
    if (populationFitness == null) {
      return genomes(initialPopulation(initial, size));
    }
    int bestIndex = argmax(populationFitness);
    List<Genome> trials = new ArrayList<>(size);
    for (int i = 0; i < size; i++) {
      double[] x = population.get(i);
      double[] v = new double[n];
      if (variant == Variant.EVOLVER) {
        int r =
            bestIndex != i && rng.uniform() < bestProbability ? bestIndex : rng.otherThan(size, i);
        double[] xr = population.get(r);
        for (int j = 0; j < n; j++) {
          v[j] = x[j] + f * (xr[j] - x[j]);
        }
      } else {
        int[] abc = distinctOthers(i);
        double[] a = population.get(abc[0]);
        double[] b = population.get(abc[1]);
        double[] c = population.get(abc[2]);
        for (int j = 0; j < n; j++) {
          v[j] = a[j] + f * (b[j] - c[j]);
        }
      }
      boolean[] fromMutant = new boolean[blockCount];
      int forced = rng.nextInt(blockCount);
      for (int k = 0; k < blockCount; k++) {
        fromMutant[k] = k == forced || rng.uniform() < cr;
      }
      double[] u = new double[n];
      for (int j = 0; j < n; j++) {
        u[j] = fromMutant[blockIds[j]] ? bounds.reflect(j, v[j]) : x[j];
      }
      trials.add(new Genome(u));
    }
    return trials;
  }

  @Override
  void learn(List<Genome> candidates, double[] fitness) {
    if (populationFitness == null) {
      for (Genome g : candidates) {
        population.add(g.genes());
      }
      populationFitness = fitness.clone();
      return;
    }
    for (int i = 0; i < size; i++) {
      // greedy: the trial replaces its parent only when strictly better
      if (fitness[i] > populationFitness[i]) {
        population.set(i, candidates.get(i).genes());
        populationFitness[i] = fitness[i];
      }
    }
  }

  /** The current population (parents), in population order. */
  @Override
  public List<Evaluated> population() {
    List<Evaluated> out = new ArrayList<>();
    for (int i = 0; i < population.size(); i++) {
      out.add(new Evaluated(new Genome(population.get(i)), populationFitness[i]));
    }
    return out;
  }

  private int[] distinctOthers(int i) {
    int a = rng.otherThan(size, i);
    int b;
    do {
      b = rng.nextInt(size);
    } while (b == i || b == a);
    int c;
    do {
      c = rng.nextInt(size);
    } while (c == i || c == a || c == b);
    return new int[] {a, b, c};
  }

  static int argmax(double[] values) {
    int best = 0;
    for (int i = 1; i < values.length; i++) {
      if (values[i] > values[best]) {
        best = i;
      }
    }
    return best;
  }
}
