package dev.evomerge.worker.eval;

import dev.evomerge.worker.score.ExampleScores;
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
 * @param exampleScores per task name, each row's results over the shards that succeeded (empty
 *     unless {@link EvalSpec#recordExamples()})
 * @param batchSizes the rows per forward pass the shards used, distinct, sorted, joined by {@code
 *     "; "} ({@code ""} when unknown)
 */
public record CandidateResult(
    Map<String, TaskPartial> tasks,
    long nanos,
    String error,
    String devices,
    Map<String, ExampleScores> exampleScores,
    String batchSizes)
    implements Serializable {
  public CandidateResult {
    tasks = Map.copyOf(tasks);
    exampleScores = Map.copyOf(exampleScores);
  }

  public static CandidateResult ok(Map<String, TaskPartial> tasks, long nanos, String device) {
    return new CandidateResult(tasks, nanos, null, device, Map.of(), "");
  }

  /** A success with per-row results, scored {@code batchSize} rows per forward pass. */
  public static CandidateResult ok(
      Map<String, TaskPartial> tasks,
      Map<String, ExampleScores> examples,
      long nanos,
      String device,
      int batchSize) {
    return new CandidateResult(tasks, nanos, null, device, examples, String.valueOf(batchSize));
  }

  public static CandidateResult failed(String error, long nanos, String device) {
    return new CandidateResult(Map.of(), nanos, error, device, Map.of(), "");
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
    Map<String, ExampleScores> rows = new LinkedHashMap<>(exampleScores);
    other.exampleScores.forEach((name, e) -> rows.merge(name, e, ExampleScores::plus));
    return new CandidateResult(
        sum,
        nanos + other.nanos,
        error != null ? error : other.error,
        union(devices, other.devices),
        rows,
        union(batchSizes, other.batchSizes));
  }

  private static String union(String a, String b) {
    TreeSet<String> all = new TreeSet<>();
    all.addAll(List.of(a.split("; ")));
    all.addAll(List.of(b.split("; ")));
    all.remove("");
    return String.join("; ", all);
  }
}
