package dev.evomerge.worker.spark;

import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.ShardEvaluator;
import dev.evomerge.worker.eval.TaskRow;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;
import scala.reflect.ClassTag$;

/** Scores every candidate of a generation on one partition (dev shard) of the tasks' rows. */
public final class EvaluateShardFunction
    implements PairFlatMapFunction<Iterator<TaskRow>, Long, CandidateResult> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<EvalSpec> spec;
  private final byte[] candidates;
  private final LongAccumulator examples;
  private final LongAccumulator tokens;
  private final LongAccumulator materialised;

  /**
   * The generation's candidates travel in the task itself, Kryo-serialized with the application's
   * serializer (registration required): Spark ships a stage's tasks to the executors as one
   * broadcast, so a broadcast of their own would only add a block to create, fetch and remove each
   * generation.
   *
   * @param candidates the generation's candidates, serialized by {@link #serialize}
   * @param examples named accumulator counting (candidate, row) pairs scored, shown in the UI
   * @param tokens named accumulator counting tokens scored
   * @param materialised named accumulator counting candidates materialised (one per candidate per
   *     task run, retries included), or null
   */
  public EvaluateShardFunction(
      Broadcast<EvalSpec> spec,
      byte[] candidates,
      LongAccumulator examples,
      LongAccumulator tokens,
      LongAccumulator materialised) {
    this.spec = spec;
    this.candidates = candidates;
    this.examples = examples;
    this.tokens = tokens;
    this.materialised = materialised;
  }

  /** {@code candidates} as the running application's serializer writes them (Kryo). */
  public static byte[] serialize(List<CandidateSpec> candidates) {
    ByteBuffer bytes =
        SparkEnv.get()
            .serializer()
            .newInstance()
            .serialize(
                (Object) candidates.toArray(new CandidateSpec[0]), ClassTag$.MODULE$.AnyRef());
    byte[] out = new byte[bytes.remaining()];
    bytes.get(out);
    return out;
  }

  private static CandidateSpec[] deserialize(byte[] bytes) {
    Object value =
        SparkEnv.get()
            .serializer()
            .newInstance()
            .deserialize(ByteBuffer.wrap(bytes), ClassTag$.MODULE$.AnyRef());
    return (CandidateSpec[]) value;
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
            spec.value(), Arrays.asList(deserialize(candidates)), shard, TaskDevices.current());
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
