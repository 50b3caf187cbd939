package dev.evomerge.driver.spark;

import dev.evomerge.driver.run.GenerationEvaluator;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.TaskRow;
import dev.evomerge.worker.spark.EvaluateSliceFunction;
import dev.evomerge.worker.spark.EvaluationSlice;
import dev.evomerge.worker.spark.ShardScore;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.resource.ResourceProfile;
import org.apache.spark.resource.ResourceProfileBuilder;
import org.apache.spark.resource.TaskResourceRequests;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.LongAccumulator;

/**
 * Evaluates generations on Spark: the tasks' rows are broadcast once and cut into {@code shards}
 * dev shards; each generation is one stage whose tasks ({@link TaskPlan}) carry the candidates'
 * coefficients (never weights) and score their share of (candidate, shard) pairs against the
 * executor's resident source models, and partial sums are reduced per candidate in shard order.
 */
public final class SparkGenerationEvaluator implements GenerationEvaluator, AutoCloseable {
  /** The job group of every evaluation job (its description names the generation). */
  static final String JOB_GROUP = "evomerge-generation";

  private final SparkSession spark;
  private final JavaSparkContext jsc;
  private final Broadcast<EvalSpec> spec;
  private final Broadcast<TaskRow[]> rows;
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
    if (profile != null) {
      // known to the scheduler before the first stage uses it, so its slots can be counted
      spark.sparkContext().resourceProfileManager().addResourceProfile(profile);
    }
    this.jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    this.shardCount = shardCount;
    this.examplesScored = spark.sparkContext().longAccumulator("evomerge examples scored");
    this.tokensScored = spark.sparkContext().longAccumulator("evomerge tokens scored");
    this.materialised = spark.sparkContext().longAccumulator("evomerge candidates materialised");
    this.spec = jsc.broadcast(spec);
    // rows were read and checked on the driver; broadcast once, so executors keep them in memory
    // for every generation and no task carries rows
    this.rows = jsc.broadcast(rows.toArray(new TaskRow[0]));
  }

  @Override
  public Map<Long, CandidateResult> evaluate(String description, List<CandidateSpec> candidates) {
    SparkContext sc = spark.sparkContext();
    sc.setJobGroup(JOB_GROUP, description, false);
    try {
      List<EvaluationSlice> plan = TaskPlan.slices(candidates.size(), shardCount, slots());
      // the coefficients (Kryo) and the plan travel in the stage's tasks, which Spark broadcasts
      // once; a task's partition is only its index
      JavaRDD<ShardScore> scored =
          jsc.parallelize(IntStream.range(0, plan.size()).boxed().toList(), plan.size())
              .mapPartitions(
                  new EvaluateSliceFunction(
                      spec,
                      rows,
                      shardCount,
                      EvaluateSliceFunction.serialize(candidates),
                      plan,
                      examplesScored,
                      tokensScored,
                      materialised));
      if (profile != null) {
        scored.rdd().withResources(profile); // the evaluation stage asks for its GPUs
      }
      // partials are a few hundred bytes per (candidate, shard): reducing them here keeps a
      // generation to one stage, with no shuffle; adding each candidate's shards in shard order
      // makes its fitness the same however the tasks were cut
      List<ShardScore> partials = new ArrayList<>(scored.collect());
      partials.sort(Comparator.comparingInt(ShardScore::shard));
      Map<Long, CandidateResult> reduced = new LinkedHashMap<>();
      for (CandidateSpec c : candidates) {
        reduced.put(c.id(), null);
      }
      for (ShardScore p : partials) {
        reduced.merge(p.candidate(), p.result(), CandidateResult::plus);
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
   * Concurrent task slots for the evaluation stage: its GPU profile's, else the default profile's
   * ({@code local[N]}: N; a cluster: its executors' cores over {@code spark.task.cpus}), read each
   * generation so executors that join or leave change the plan; {@code defaultParallelism} while
   * none has registered.
   */
  private int slots() {
    SparkContext sc = spark.sparkContext();
    int slots = 0;
    if (profile != null) {
      slots = sc.maxNumConcurrentTasks(profile);
    }
    if (slots <= 0) {
      slots = sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
    }
    return slots > 0 ? slots : sc.defaultParallelism();
  }

  /**
   * Candidates materialised so far by this evaluator's tasks: one per candidate per task run (once
   * per candidate when the generation has at least as many candidates as task slots, see {@link
   * TaskPlan}; plus any task Spark re-ran).
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
    rows.destroy();
    spec.destroy();
  }
}
