package dev.evomerge.driver.run;

import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import java.util.List;
import java.util.Map;

/** Scores a generation's candidates on the whole dev set, wherever that happens. */
public interface GenerationEvaluator extends AutoCloseable {
  /**
   * Results reduced over all dev shards, per candidate id; every candidate has an entry.
   *
   * @param description what a person watching sees for this generation (the Spark UI job)
   */
  Map<Long, CandidateResult> evaluate(String description, List<CandidateSpec> candidates);

  /** Where a person can watch the evaluation (the Spark UI), or null. */
  default String monitorUrl() {
    return null;
  }

  /** Releases what the evaluator holds (its broadcasts). */
  @Override
  default void close() {}
}
