package dev.evomerge.driver.run;

import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.ShardEvaluator;
import dev.evomerge.worker.eval.TaskRow;
import java.util.List;
import java.util.Map;

/**
 * Scores candidates in this JVM without Spark, on all tasks' rows as one shard: the reference the
 * Spark path is checked against.
 */
public final class LocalGenerationEvaluator implements GenerationEvaluator {
  private final EvalSpec spec;
  private final List<TaskRow> rows;

  public LocalGenerationEvaluator(EvalSpec spec, List<TaskRow> rows) {
    this.spec = spec;
    this.rows = List.copyOf(rows);
  }

  @Override
  public Map<Long, CandidateResult> evaluate(String description, List<CandidateSpec> candidates) {
    return ShardEvaluator.evaluate(spec, candidates, rows);
  }
}
