package dev.evomerge.driver.run;

import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.score.ScorePartial;
import java.util.List;
import java.util.Map;

/** Scores a generation's candidates on the whole dev set, wherever that happens. */
public interface GenerationEvaluator {
  /** Reduced partial scores per candidate id; every candidate has an entry. */
  Map<Long, ScorePartial> evaluate(int generation, List<CandidateSpec> candidates);

  /** Where a person can watch the evaluation (the Spark UI), or null. */
  default String monitorUrl() {
    return null;
  }
}
