package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The simplest evolutionary strategy: keep the best {@code elite} genomes seen so far and ask for
 * Gaussian mutations of them, reflected into the bounds. The first generation holds the uniform
 * genome (every gene at the middle of the bounds) and uniform random genomes.
 */
public final class ElitistGaussianStrategy implements SearchStrategy {
  private final int dimensions;
  private final int population;
  private final int elite;
  private final double sigma;
  private final double lower;
  private final double upper;
  private final SplittableRandom random;
  private final List<Evaluated> elites = new ArrayList<>();
  private boolean first = true;

  public ElitistGaussianStrategy(
      int dimensions,
      int population,
      int elite,
      double sigma,
      double lower,
      double upper,
      long seed) {
    Preconditions.checkArgument(dimensions > 0, "Invalid number of genes: %s", dimensions);
    Preconditions.checkArgument(population > 0, "Invalid population: %s", population);
    Preconditions.checkArgument(
        elite > 0 && elite <= population,
        "Invalid elite count %s for population %s",
        elite,
        population);
    Preconditions.checkArgument(sigma > 0, "Invalid sigma: %s", sigma);
    Preconditions.checkArgument(lower < upper, "Invalid bounds: [%s, %s]", lower, upper);
    this.dimensions = dimensions;
    this.population = population;
    this.elite = elite;
    this.sigma = sigma;
    this.lower = lower;
    this.upper = upper;
    this.random = new SplittableRandom(seed);
  }

  @Override
  public List<Genome> ask() {
    List<Genome> out = new ArrayList<>(population);
    if (first) {
      double[] uniform = new double[dimensions];
      java.util.Arrays.fill(uniform, (lower + upper) / 2);
      out.add(new Genome(uniform));
      while (out.size() < population) {
        double[] g = new double[dimensions];
        for (int i = 0; i < dimensions; i++) {
          g[i] = lower + random.nextDouble() * (upper - lower);
        }
        out.add(new Genome(g));
      }
      return out;
    }
    while (out.size() < population) {
      Genome parent = elites.get(random.nextInt(elites.size())).genome();
      double[] g = parent.genes();
      for (int i = 0; i < dimensions; i++) {
        g[i] = reflect(g[i] + sigma * gaussian());
      }
      out.add(new Genome(g));
    }
    return out;
  }

  @Override
  public void tell(List<Genome> candidates, double[] fitness) {
    Preconditions.checkArgument(
        candidates.size() == fitness.length,
        "Got %s fitness values for %s candidates",
        fitness.length,
        candidates.size());
    first = false;
    for (int i = 0; i < fitness.length; i++) {
      double f = Double.isNaN(fitness[i]) ? Double.NEGATIVE_INFINITY : fitness[i];
      elites.add(new Evaluated(candidates.get(i), f));
    }
    // stable sort: among equal fitness the earlier-evaluated genome stays ahead
    elites.sort(Comparator.comparingDouble(Evaluated::fitness).reversed());
    while (elites.size() > elite) {
      elites.remove(elites.size() - 1);
    }
  }

  @Override
  public Evaluated best() {
    return elites.isEmpty() ? null : elites.get(0);
  }

  /** Box-Muller from the seeded generator, so runs replay exactly. */
  private double gaussian() {
    double u1 = 1.0 - random.nextDouble();
    double u2 = random.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  private double reflect(double x) {
    double width = upper - lower;
    double y = (x - lower) % (2 * width);
    if (y < 0) {
      y += 2 * width;
    }
    return y <= width ? lower + y : upper - (y - width);
  }
}
