package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A generational real-coded GA as in EvoGM-style merge search: tournament selection, or rank
 * selection among the top {@code truncation} share; elitism (the best {@code elite} individuals
 * survive unchanged and are not re-evaluated); uniform crossover per gene block (a layer group's
 * weights come from one parent) or blend crossover (per-gene interpolation, BLX-alpha); Gaussian
 * mutation with sigma relative to each gene's bound width, reflected into the bounds. The first
 * generation is the given initial genomes (uniform, source-biased, user recipes, warm start) topped
 * up with uniform random ones.
 */
public final class GeneticAlgorithm extends AbstractStrategy {
  public enum Selection {
    TOURNAMENT,
    RANK
  }

  public enum Recombination {
    UNIFORM,
    BLEND
  }

  /** The GA's knobs; see the class comment. */
  public record Config(
      int populationSize,
      int elite,
      Selection selection,
      int tournamentSize,
      double truncation,
      Recombination recombination,
      double crossoverRate,
      double blendAlpha,
      double mutationRate,
      double mutationSigma) {
    public Config {
      Preconditions.checkArgument(populationSize >= 2, "Invalid GA population: %s", populationSize);
      Preconditions.checkArgument(
          elite >= 0 && elite < populationSize,
          "Invalid GA elite count %s for population %s",
          elite,
          populationSize);
      Preconditions.checkArgument(
          tournamentSize >= 1, "Invalid tournament size: %s", tournamentSize);
      Preconditions.checkArgument(
          truncation > 0 && truncation <= 1, "Invalid truncation share: %s", truncation);
      Preconditions.checkArgument(
          crossoverRate >= 0 && crossoverRate <= 1, "Invalid crossover rate: %s", crossoverRate);
      Preconditions.checkArgument(blendAlpha >= 0, "Invalid blend alpha: %s", blendAlpha);
      Preconditions.checkArgument(
          mutationRate >= 0 && mutationRate <= 1, "Invalid mutation rate: %s", mutationRate);
      Preconditions.checkArgument(mutationSigma >= 0, "Invalid mutation sigma: %s", mutationSigma);
    }

    public static Config defaults() {
      return new Config(20, 2, Selection.TOURNAMENT, 3, 0.3, Recombination.UNIFORM, 0.9, 0, 1, 0.1);
    }
  }

  private final Config config;
  private final List<Genome> initial;
  private List<Evaluated> population; // sorted best first

  public GeneticAlgorithm(Bounds bounds, Config config, List<Genome> initial, long seed) {
    super(bounds, seed);
    this.config = config;
    this.initial = List.copyOf(initial);
  }

  @Override
  List<Genome> propose() {
    if (population == null) {
      return genomes(initialPopulation(initial, config.populationSize()));
    }
    int children = config.populationSize() - config.elite();
    List<Genome> out = new ArrayList<>(children);
    while (out.size() < children) {
      double[] a = select();
      double[] b = select();
      double[] child = rng.uniform() < config.crossoverRate() ? recombine(a, b) : a.clone();
      mutate(child);
      out.add(new Genome(child));
    }
    return out;
  }

  @Override
  void learn(List<Genome> candidates, double[] fitness) {
    List<Evaluated> next = new ArrayList<>();
    if (population != null) {
      next.addAll(population.subList(0, config.elite()));
    }
    for (int i = 0; i < fitness.length; i++) {
      next.add(new Evaluated(candidates.get(i), fitness[i]));
    }
    // stable: among equals, survivors first, then in evaluation order
    next.sort(Comparator.comparingDouble(Evaluated::fitness).reversed());
    population = next;
  }

  /** The current population, best first. */
  @Override
  public List<Evaluated> population() {
    return population == null ? List.of() : List.copyOf(population);
  }

  private double[] select() {
    int size = population.size();
    if (config.selection() == Selection.TOURNAMENT) {
      // population is sorted, so the winner is the smallest index drawn
      int winner = rng.nextInt(size);
      for (int k = 1; k < config.tournamentSize(); k++) {
        winner = Math.min(winner, rng.nextInt(size));
      }
      return population.get(winner).genome().genes();
    }
    // linear ranking among the top share: weight (pool - rank)
    int pool = Math.max(1, (int) Math.ceil(config.truncation() * size));
    long total = (long) pool * (pool + 1) / 2;
    double r = rng.uniform() * total;
    int rank = 0;
    double acc = pool;
    while (acc <= r && rank < pool - 1) {
      rank++;
      acc += pool - rank;
    }
    return population.get(rank).genome().genes();
  }

  private double[] recombine(double[] a, double[] b) {
    double[] child = new double[n];
    if (config.recombination() == Recombination.UNIFORM) {
      java.util.Map<Integer, Boolean> fromA = new java.util.HashMap<>();
      for (int j = 0; j < n; j++) {
        // one coin per block, drawn in gene order so the draw sequence is deterministic
        boolean takeA = fromA.computeIfAbsent(bounds.block(j), k -> rng.uniform() < 0.5);
        child[j] = takeA ? a[j] : b[j];
      }
      return child;
    }
    double alpha = config.blendAlpha();
    for (int j = 0; j < n; j++) {
      double u = rng.uniform(-alpha, 1 + alpha);
      child[j] = bounds.reflect(j, a[j] + u * (b[j] - a[j]));
    }
    return child;
  }

  private void mutate(double[] x) {
    for (int j = 0; j < n; j++) {
      if (config.mutationRate() >= 1 || rng.uniform() < config.mutationRate()) {
        x[j] = bounds.reflect(j, x[j] + config.mutationSigma() * bounds.width(j) * rng.gaussian());
      }
    }
  }
}
