package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.List;

/**
 * What every strategy here shares: bounds, the seeded generator, the best-so-far, and the check
 * that {@code tell} answers the last {@code ask} (same genomes, same order). Subclasses implement
 * {@link #propose()} and {@link #learn}; both must draw randomness only from {@link #rng}, so that
 * the same seed and fitness sequence give the same candidates.
 */
abstract class AbstractStrategy implements SearchStrategy {
  protected final Bounds bounds;
  protected final Rng rng;
  protected final int n;
  private List<Genome> pending;
  private Evaluated best;

  AbstractStrategy(Bounds bounds, long seed) {
    this.bounds = bounds;
    this.rng = new Rng(seed);
    this.n = bounds.dimension();
  }

  @Override
  public final List<Genome> ask() {
    if (pending == null) {
      List<Genome> out = propose();
      Preconditions.checkState(!out.isEmpty(), "%s proposed no candidates", getClass());
      for (Genome g : out) {
        Preconditions.checkState(
            bounds.contains(g.genes()), "%s proposed a genome out of bounds: %s", getClass(), g);
      }
      pending = List.copyOf(out);
    }
    // asking again before telling returns the same candidates: a re-asking caller (e.g. after a
    // lost evaluation round) must not advance the generator
    return pending;
  }

  @Override
  public final void tell(List<Genome> candidates, double[] fitness) {
    checkPending(candidates, fitness.length);
    double[] f = new double[fitness.length];
    for (int i = 0; i < f.length; i++) {
      f[i] = sanitize(fitness[i]);
      if (best == null || f[i] > best.fitness()) {
        best = new Evaluated(candidates.get(i), f[i]);
      }
    }
    pending = null;
    learn(new ArrayList<>(candidates), f);
  }

  /** Checks that {@code candidates} are the last ask's; does not clear it. */
  protected final void checkPending(List<Genome> candidates, int values) {
    Preconditions.checkState(pending != null, "tell without a preceding ask");
    Preconditions.checkArgument(
        candidates.size() == values,
        "Got %s fitness values for %s candidates",
        values,
        candidates.size());
    Preconditions.checkArgument(
        candidates.equals(pending), "tell must answer the candidates of the last ask, in order");
  }

  protected final void clearPending() {
    pending = null;
  }

  @Override
  public Evaluated best() {
    return best;
  }

  /** Failed candidates (NaN) rank below every real fitness. */
  static double sanitize(double f) {
    return Double.isNaN(f) ? Double.NEGATIVE_INFINITY : f;
  }

  abstract List<Genome> propose();

  abstract void learn(List<Genome> candidates, double[] fitness);

  /** Seeds first, then uniform random genomes, {@code size} in all. */
  protected final List<double[]> initialPopulation(List<Genome> initial, int size) {
    List<double[]> out = new ArrayList<>(size);
    for (Genome g : initial) {
      if (out.size() == size) {
        break;
      }
      bounds.checkGenome(g, "An initial genome");
      out.add(bounds.repair(g.genes()));
    }
    while (out.size() < size) {
      out.add(bounds.sample(rng));
    }
    return out;
  }

  protected static List<Genome> genomes(List<double[]> xs) {
    List<Genome> out = new ArrayList<>(xs.size());
    for (double[] x : xs) {
      out.add(new Genome(x));
    }
    return out;
  }
}
