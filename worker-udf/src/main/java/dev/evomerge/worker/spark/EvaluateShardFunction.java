package dev.evomerge.worker.spark;

import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.ShardEvaluator;
import dev.evomerge.worker.eval.TaskRow;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/** Scores every candidate of a generation on one partition (dev shard) of the tasks' rows. */
public final class EvaluateShardFunction
    implements PairFlatMapFunction<Iterator<TaskRow>, Long, CandidateResult> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<EvalSpec> spec;
  private final Broadcast<CandidateSpec[]> candidates;
  private final LongAccumulator examples;
  private final LongAccumulator tokens;
  private final LongAccumulator materialised;

  /**
   * @param examples named accumulator counting (candidate, row) pairs scored, shown in the UI
   * @param tokens named accumulator counting tokens scored
   */
  public EvaluateShardFunction(
      Broadcast<EvalSpec> spec,
      Broadcast<CandidateSpec[]> candidates,
      LongAccumulator examples,
      LongAccumulator tokens) {
    this(spec, candidates, examples, tokens, null);
  }

  /**
   * @param materialised named accumulator counting candidates materialised (one per candidate per
   *     task run, retries included), or null
   */
  public EvaluateShardFunction(
      Broadcast<EvalSpec> spec,
      Broadcast<CandidateSpec[]> candidates,
      LongAccumulator examples,
      LongAccumulator tokens,
      LongAccumulator materialised) {
    this.spec = spec;
    this.candidates = candidates;
    this.examples = examples;
    this.tokens = tokens;
    this.materialised = materialised;
  }

  @Override
  public Iterator<Tuple2<Long, CandidateResult>> call(Iterator<TaskRow> rows) {
    List<TaskRow> shard = new ArrayList<>();
    rows.forEachRemaining(shard::add);
    if (shard.isEmpty()) {
      return List.<Tuple2<Long, CandidateResult>>of().iterator();
    }
    ExecutorCacheSettings.apply();
    TorchThreads.applyToTask();
    Map<Long, CandidateResult> results =
        ShardEvaluator.evaluate(
            spec.value(), Arrays.asList(candidates.value()), shard, TaskDevices.current());
    List<Tuple2<Long, CandidateResult>> out = new ArrayList<>(results.size());
    for (Map.Entry<Long, CandidateResult> e : results.entrySet()) {
      out.add(new Tuple2<>(e.getKey(), e.getValue()));
      if (!e.getValue().isFailed()) {
        examples.add(e.getValue().examples());
        tokens.add(e.getValue().tokens());
      }
    }
    if (materialised != null) {
      materialised.add(results.size());
    }
    return out.iterator();
  }
}
