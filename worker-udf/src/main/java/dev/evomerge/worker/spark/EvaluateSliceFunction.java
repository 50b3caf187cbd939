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
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.LongAccumulator;
import scala.reflect.ClassTag$;

/**
 * Runs evaluation tasks: task {@code i} (the one element of its partition) scores its {@link
 * EvaluationSlice} of the generation, materialising each of its candidates once and scoring it on
 * each of its dev shards, and returns one {@link ShardScore} per (candidate, shard).
 */
public final class EvaluateSliceFunction implements FlatMapFunction<Iterator<Integer>, ShardScore> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<EvalSpec> spec;
  private final Broadcast<TaskRow[]> rows;
  private final int shardCount;
  private final byte[] candidates;
  private final EvaluationSlice[] slices;
  private final LongAccumulator examples;
  private final LongAccumulator tokens;
  private final LongAccumulator materialised;

  /**
   * The generation's candidates and the slices travel in the task itself, the candidates
   * Kryo-serialized with the application's serializer (registration required): Spark ships a
   * stage's tasks to the executors as one broadcast, so a broadcast of their own would only add a
   * block to create, fetch and remove each generation.
   *
   * @param rows every dev row, broadcast once per run; shard {@code s} of {@code shardCount} is
   *     {@link #shardRows}
   * @param candidates the generation's candidates, serialized by {@link #serialize}
   * @param slices task {@code i}'s share of the generation is {@code slices[i]}
   * @param examples named accumulator counting (candidate, row) pairs scored, shown in the UI
   * @param tokens named accumulator counting tokens scored
   * @param materialised named accumulator counting candidates materialised (one per candidate per
   *     task run, retries included), or null
   */
  public EvaluateSliceFunction(
      Broadcast<EvalSpec> spec,
      Broadcast<TaskRow[]> rows,
      int shardCount,
      byte[] candidates,
      List<EvaluationSlice> slices,
      LongAccumulator examples,
      LongAccumulator tokens,
      LongAccumulator materialised) {
    this.spec = spec;
    this.rows = rows;
    this.shardCount = shardCount;
    this.candidates = candidates;
    this.slices = slices.toArray(new EvaluationSlice[0]);
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

  /**
   * Shard {@code shard} of {@code shardCount}: rows {@code [shard*n/k, (shard+1)*n/k)}, as {@code
   * parallelize} slices a list.
   */
  public static List<TaskRow> shardRows(TaskRow[] all, int shardCount, int shard) {
    long n = all.length;
    int from = (int) (shard * n / shardCount);
    int to = (int) ((shard + 1) * n / shardCount);
    return Arrays.asList(all).subList(from, to);
  }

  @Override
  public Iterator<ShardScore> call(Iterator<Integer> tasks) {
    List<ShardScore> out = new ArrayList<>();
    while (tasks.hasNext()) {
      EvaluationSlice slice = slices[tasks.next()];
      ExecutorCacheSettings.apply();
      TorchThreads.applyToTask();
      TaskRow[] all = rows.value();
      List<List<TaskRow>> shards = new ArrayList<>();
      for (int s = slice.fromShard(); s < slice.toShard(); s++) {
        shards.add(shardRows(all, shardCount, s));
      }
      List<CandidateSpec> mine =
          Arrays.asList(deserialize(candidates))
              .subList(slice.fromCandidate(), slice.toCandidate());
      Map<Long, List<CandidateResult>> results =
          ShardEvaluator.evaluateShards(spec.value(), mine, shards, TaskDevices.current());
      for (Map.Entry<Long, List<CandidateResult>> e : results.entrySet()) {
        for (int i = 0; i < e.getValue().size(); i++) {
          CandidateResult r = e.getValue().get(i);
          out.add(new ShardScore(e.getKey(), slice.fromShard() + i, r));
          if (!r.isFailed()) {
            examples.add(r.examples());
            tokens.add(r.tokens());
          }
        }
      }
      if (materialised != null) {
        materialised.add(results.size());
      }
    }
    return out.iterator();
  }
}
