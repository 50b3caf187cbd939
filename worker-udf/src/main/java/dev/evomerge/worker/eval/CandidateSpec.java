package dev.evomerge.worker.eval;

import java.io.Serializable;
import java.util.Arrays;

/**
 * One candidate merge as the executors see it: coefficients only, never weights.
 *
 * @param id run-unique candidate id
 * @param weights the genome: one value per (source, gene) in {@link EvalSpec#sourceUris()} order,
 *     or in a data-flow search the layer-path genome of {@link DataFlowSpec} (and its mini-batch)
 */
public record CandidateSpec(long id, double[] weights) implements Serializable {
  public CandidateSpec {
    weights = weights.clone();
  }

  @Override
  public double[] weights() {
    return weights.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CandidateSpec c && id == c.id && Arrays.equals(weights, c.weights);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(id) * 31 + Arrays.hashCode(weights);
  }

  @Override
  public String toString() {
    return "Candidate " + id + " " + Arrays.toString(weights);
  }
}
