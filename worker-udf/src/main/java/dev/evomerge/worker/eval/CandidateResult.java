package dev.evomerge.worker.eval;

import dev.evomerge.worker.score.ScorePartial;
import java.io.Serializable;

/**
 * A candidate's outcome on one or more shards: its partial score, or the error that stopped it.
 * Results of disjoint shards add up; one failed shard fails the candidate (first error kept).
 *
 * @param score partial sums over the shards that succeeded
 * @param error null when every shard succeeded, else what went wrong (for the run's history)
 * @param devices the devices the shards ran on ({@link TaskDevice#note()}), distinct, sorted
 */
public record CandidateResult(ScorePartial score, String error, String devices)
    implements Serializable {
  public static CandidateResult ok(ScorePartial score, String device) {
    return new CandidateResult(score, null, device);
  }

  public static CandidateResult failed(String error, long nanos, String device) {
    return new CandidateResult(new ScorePartial(0, 0, 0, nanos), error, device);
  }

  public boolean isFailed() {
    return error != null;
  }

  public CandidateResult plus(CandidateResult other) {
    java.util.TreeSet<String> all = new java.util.TreeSet<>();
    all.addAll(java.util.List.of(devices.split("; ")));
    all.addAll(java.util.List.of(other.devices.split("; ")));
    return new CandidateResult(
        score.plus(other.score), error != null ? error : other.error, String.join("; ", all));
  }
}
