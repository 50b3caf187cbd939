package dev.evomerge.worker.eval;

import dev.evomerge.worker.score.TaskPartial;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A candidate's outcome on one or more shards: per-task partial sums, or the error that stopped it.
 * Results of disjoint shards add up task by task (sums and counts, never averages, so the driver's
 * reduction is exact); one failed shard fails the candidate (first error kept).
 *
 * @param tasks partial sums per task name, over the shards that succeeded
 * @param nanos time spent materialising and scoring, summed over shards
 * @param error null when every shard succeeded, else what went wrong (for the run's history)
 * @param devices the devices the shards ran on ({@link TaskDevice#note()}), distinct, sorted
 */
public record CandidateResult(
    Map<String, TaskPartial> tasks, long nanos, String error, String devices)
    implements Serializable {
  public CandidateResult {
    tasks = Map.copyOf(tasks);
  }

  public static CandidateResult ok(Map<String, TaskPartial> tasks, long nanos, String device) {
    return new CandidateResult(tasks, nanos, null, device);
  }

  public static CandidateResult failed(String error, long nanos, String device) {
    return new CandidateResult(Map.of(), nanos, error, device);
  }

  public boolean isFailed() {
    return error != null;
  }

  /** Rows scored, over all tasks. */
  public long examples() {
    return tasks.values().stream().mapToLong(TaskPartial::examples).sum();
  }

  /** Tokens scored by log-likelihood tasks. */
  public long tokens() {
    return tasks.values().stream().mapToLong(TaskPartial::tokens).sum();
  }

  public CandidateResult plus(CandidateResult other) {
    Map<String, TaskPartial> sum = new LinkedHashMap<>(tasks);
    other.tasks.forEach((name, p) -> sum.merge(name, p, TaskPartial::plus));
    TreeSet<String> all = new TreeSet<>();
    all.addAll(List.of(devices.split("; ")));
    all.addAll(List.of(other.devices.split("; ")));
    return new CandidateResult(
        sum, nanos + other.nanos, error != null ? error : other.error, String.join("; ", all));
  }
}
