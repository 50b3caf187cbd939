package dev.evomerge.worker.spark;

import com.google.common.base.Preconditions;
import java.io.Serializable;

/**
 * One evaluation task's share of a generation: candidates {@code [fromCandidate, toCandidate)} of
 * the generation's list, each scored on dev shards {@code [fromShard, toShard)}.
 */
public record EvaluationSlice(int fromCandidate, int toCandidate, int fromShard, int toShard)
    implements Serializable {
  public EvaluationSlice {
    Preconditions.checkArgument(
        fromCandidate >= 0 && toCandidate > fromCandidate,
        "Invalid candidate range of an evaluation task: [%s, %s)",
        fromCandidate,
        toCandidate);
    Preconditions.checkArgument(
        fromShard >= 0 && toShard > fromShard,
        "Invalid shard range of an evaluation task: [%s, %s)",
        fromShard,
        toShard);
  }

  /** Candidates this task materialises (once each, for all its shards). */
  public int candidates() {
    return toCandidate - fromCandidate;
  }
}
