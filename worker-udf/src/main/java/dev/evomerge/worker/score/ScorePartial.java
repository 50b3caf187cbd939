package dev.evomerge.worker.score;

import java.io.Serializable;

/**
 * Partial sums of a log-likelihood score over some rows; partials of disjoint shards add up to the
 * score of their union.
 *
 * @param sumLogLik sum of natural-log probabilities of the predicted tokens
 * @param tokens number of predicted tokens
 * @param examples number of rows
 * @param nanos time spent materialising and scoring, summed over shards
 */
public record ScorePartial(double sumLogLik, long tokens, long examples, long nanos)
    implements Serializable {
  public static final ScorePartial ZERO = new ScorePartial(0, 0, 0, 0);

  public ScorePartial plus(ScorePartial other) {
    return new ScorePartial(
        sumLogLik + other.sumLogLik,
        tokens + other.tokens,
        examples + other.examples,
        nanos + other.nanos);
  }

  /** Mean log-likelihood per token (higher is better); NaN when no token was scored. */
  public double meanLogLik() {
    return tokens == 0 ? Double.NaN : sumLogLik / tokens;
  }
}
