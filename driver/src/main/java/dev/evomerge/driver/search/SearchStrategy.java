package dev.evomerge.driver.search;

import java.util.List;

/**
 * An ask/tell search strategy. The caller evaluates what {@link #ask()} returns and passes the
 * fitness back, in the same order, to {@link #tell}. Strategies are seeded and deterministic: the
 * same seed and the same fitness values give the same candidates.
 */
public interface SearchStrategy {
  /** The next candidates to evaluate; never empty. */
  List<Genome> ask();

  /** Fitness (higher is better; NaN or -infinity for a failed candidate) of the last ask. */
  void tell(List<Genome> candidates, double[] fitness);

  /** The best genome evaluated so far, or null before the first tell. */
  Evaluated best();

  /**
   * The individuals the strategy currently keeps, best known first where it ranks them; used to
   * warm-start a later run. By default just the best.
   */
  default List<Evaluated> population() {
    Evaluated best = best();
    return best == null ? List.of() : List.of(best);
  }
}
