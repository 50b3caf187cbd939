package dev.evomerge.worker.spark;

import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.ShardEvaluator;
import dev.evomerge.worker.score.DevExample;
import dev.evomerge.worker.score.ScorePartial;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

/** Scores every candidate of a generation on one partition (dev shard) of the dev set. */
public final class EvaluateShardFunction
    implements PairFlatMapFunction<Iterator<DevExample>, Long, ScorePartial> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<EvalSpec> spec;
  private final Broadcast<CandidateSpec[]> candidates;

  public EvaluateShardFunction(Broadcast<EvalSpec> spec, Broadcast<CandidateSpec[]> candidates) {
    this.spec = spec;
    this.candidates = candidates;
  }

  @Override
  public Iterator<Tuple2<Long, ScorePartial>> call(Iterator<DevExample> rows) {
    List<DevExample> shard = new ArrayList<>();
    rows.forEachRemaining(shard::add);
    if (shard.isEmpty()) {
      return List.<Tuple2<Long, ScorePartial>>of().iterator();
    }
    Map<Long, ScorePartial> scores =
        ShardEvaluator.evaluate(spec.value(), Arrays.asList(candidates.value()), shard);
    List<Tuple2<Long, ScorePartial>> out = new ArrayList<>(scores.size());
    scores.forEach((id, partial) -> out.add(new Tuple2<>(id, partial)));
    return out.iterator();
  }
}
