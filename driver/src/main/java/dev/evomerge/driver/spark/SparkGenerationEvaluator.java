package dev.evomerge.driver.spark;

import dev.evomerge.driver.run.GenerationEvaluator;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.TaskRow;
import dev.evomerge.worker.spark.EvaluateShardFunction;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.resource.ResourceProfile;
import org.apache.spark.resource.ResourceProfileBuilder;
import org.apache.spark.resource.TaskResourceRequests;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;

/**
 * Evaluates generations on Spark: the tasks' rows are split into {@code shards} cached partitions;
 * each generation ships its candidates' coefficients (never weights) in its tasks, every task
 * scores all candidates on its shard against the executor's resident source models, and partial
 * sums are reduced per candidate.
 */
public final class SparkGenerationEvaluator implements GenerationEvaluator, AutoCloseable {
  /** The job group of every evaluation job (its description names the generation). */
  static final String JOB_GROUP = "evomerge-generation";

  private final SparkSession spark;
  private final JavaSparkContext jsc;
  private final Broadcast<EvalSpec> spec;
  private final Broadcast<TaskRow[]> rows;
  private final JavaRDD<TaskRow> shards;
  private final int shardCount;
  private final ResourceProfile profile;
  private final LongAccumulator examplesScored;
  private final LongAccumulator tokensScored;
  private final LongAccumulator materialised;
  private ConsoleProgress progress;

  public SparkGenerationEvaluator(
      SparkSession spark, EvalSpec spec, List<TaskRow> rows, int shardCount) {
    this(spark, spec, rows, shardCount, 0);
  }

  /**
   * @param gpusPerTask GPUs each evaluation task requires (a task-only {@link ResourceProfile} on
   *     the evaluation stage); 0 leaves scheduling to the default profile, on CPUs
   */
  public SparkGenerationEvaluator(
      SparkSession spark, EvalSpec spec, List<TaskRow> rows, int shardCount, double gpusPerTask) {
    this.spark = spark;
    this.profile =
        gpusPerTask > 0
            ? new ResourceProfileBuilder()
                .require(new TaskResourceRequests().resource("gpu", gpusPerTask))
                .build()
            : null;
    this.jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    this.shardCount = shardCount;
    this.examplesScored = spark.sparkContext().longAccumulator("evomerge examples scored");
    this.tokensScored = spark.sparkContext().longAccumulator("evomerge tokens scored");
    this.materialised = spark.sparkContext().longAccumulator("evomerge candidates materialised");
    this.spec = jsc.broadcast(spec);
    // rows were read and checked on the driver; broadcast once and cut into shards that
    // executors keep in memory for every generation, so no task carries rows
    this.rows = jsc.broadcast(rows.toArray(new TaskRow[0]));
    this.shards = shards(jsc, this.rows, shardCount).persist(StorageLevel.MEMORY_ONLY());
  }

  /**
   * Shard {@code i} of {@code k} holds rows {@code [i*n/k, (i+1)*n/k)} of the broadcast, as {@code
   * parallelize} slices a list, read from the broadcast on the executor: a partition is only its
   * index.
   */
  static JavaRDD<TaskRow> shards(JavaSparkContext jsc, Broadcast<TaskRow[]> rows, int shardCount) {
    List<Integer> ids = java.util.stream.IntStream.range(0, shardCount).boxed().toList();
    return jsc.parallelize(ids, shardCount).flatMap(new ShardRows(rows, shardCount));
  }

  /** The rows of one shard, from the broadcast. */
  private record ShardRows(Broadcast<TaskRow[]> rows, int shardCount)
      implements FlatMapFunction<Integer, TaskRow> {
    @Override
    public java.util.Iterator<TaskRow> call(Integer shard) {
      TaskRow[] all = rows.value();
      long n = all.length;
      int from = (int) (shard * n / shardCount);
      int to = (int) ((shard + 1) * n / shardCount);
      return java.util.Arrays.asList(all).subList(from, to).iterator();
    }
  }

  @Override
  public Map<Long, CandidateResult> evaluate(String description, List<CandidateSpec> candidates) {
    SparkContext sc = spark.sparkContext();
    sc.setJobGroup(JOB_GROUP, description, false);
    try {
      // the coefficients (Kryo) travel in the stage's tasks, which Spark broadcasts once
      JavaPairRDD<Long, CandidateResult> scored =
          shards.mapPartitionsToPair(
              new EvaluateShardFunction(
                  spec,
                  EvaluateShardFunction.serialize(candidates),
                  examplesScored,
                  tokensScored,
                  materialised));
      if (profile != null) {
        scored.rdd().withResources(profile); // the evaluation stage asks for its GPUs
      }
      // partials are a few hundred bytes per (candidate, shard): reducing them here keeps a
      // generation to one stage, with no shuffle
      Map<Long, CandidateResult> reduced = new HashMap<>();
      for (scala.Tuple2<Long, CandidateResult> t : scored.collect()) {
        reduced.merge(t._1(), t._2(), CandidateResult::plus);
      }
      return reduced;
    } finally {
      if (progress != null) {
        progress.finish(); // the generation's summary line takes the bar's place
      }
      sc.clearJobGroup();
    }
  }

  /**
   * Draws a progress bar of each generation's tasks on {@code out} (see {@link ConsoleProgress});
   * removed when the evaluator closes.
   */
  public SparkGenerationEvaluator withConsoleProgress(PrintStream out) {
    progress = new ConsoleProgress(out, JOB_GROUP);
    spark.sparkContext().addSparkListener(progress);
    return this;
  }

  /**
   * Candidates materialised so far by this evaluator's tasks: one per candidate per task run (one
   * task per dev shard, so {@code shards} per candidate, plus any task Spark re-ran).
   */
  public long materialisations() {
    return materialised.value();
  }

  /** Tokens scored so far by this evaluator's jobs (for metrics and tests). */
  public long tokensScored() {
    return tokensScored.value();
  }

  @Override
  public String monitorUrl() {
    scala.Option<String> url = spark.sparkContext().uiWebUrl();
    return url.isDefined() ? url.get() : null;
  }

  @Override
  public void close() {
    if (progress != null) {
      spark.sparkContext().removeSparkListener(progress);
    }
    shards.unpersist(false);
    rows.destroy();
    spec.destroy();
  }
}
