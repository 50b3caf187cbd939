package dev.evomerge.driver.search;

import java.util.List;

/**
 * A strategy told one score per objective (e.g. per task; each higher-is-better; NaN or -infinity
 * in any objective marks a failed candidate, which then ranks below all others) instead of one
 * fitness. The scalar {@link #tell(List, double[])} treats the fitness as the only objective;
 * {@link #best()} is the front member with the highest mean score.
 */
public interface MultiObjectiveStrategy extends SearchStrategy {
  /** {@code objectives[i]} are candidate i's scores, the same number for every candidate. */
  void tell(List<Genome> candidates, double[][] objectives);

  /** The current non-dominated set. */
  List<ParetoPoint> paretoFront();

  /** A genome with its per-objective scores. */
  record ParetoPoint(Genome genome, double[] objectives) {
    public ParetoPoint {
      objectives = objectives.clone();
    }

    @Override
    public double[] objectives() {
      return objectives.clone();
    }
  }
}
