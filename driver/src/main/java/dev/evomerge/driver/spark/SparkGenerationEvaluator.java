package dev.evomerge.driver.spark;

import dev.evomerge.driver.run.GenerationEvaluator;
import dev.evomerge.driver.run.RunError;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.score.DevExample;
import dev.evomerge.worker.spark.EvaluateShardFunction;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.resource.ResourceProfile;
import org.apache.spark.resource.ResourceProfileBuilder;
import org.apache.spark.resource.TaskResourceRequests;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.LongAccumulator;

/**
 * Evaluates generations on Spark: the dev set is read once as a DataFrame, split into {@code
 * shards} cached partitions; each generation broadcasts its candidates' coefficients (never
 * weights), every task scores all candidates on its shard against the executor's resident source
 * models, and partial sums are reduced per candidate.
 */
public final class SparkGenerationEvaluator implements GenerationEvaluator, AutoCloseable {
  private final SparkSession spark;
  private final JavaSparkContext jsc;
  private final Broadcast<EvalSpec> spec;
  private final JavaRDD<DevExample> shards;
  private final int shardCount;
  private final ResourceProfile profile;
  private final LongAccumulator examplesScored;
  private final LongAccumulator tokensScored;

  public SparkGenerationEvaluator(
      SparkSession spark, EvalSpec spec, String devSetUri, String textField, int shardCount) {
    this(spark, spec, devSetUri, textField, shardCount, 0);
  }

  /**
   * @param gpusPerTask GPUs each evaluation task requires (a task-only {@link ResourceProfile} on
   *     the evaluation stage); 0 leaves scheduling to the default profile, on CPUs
   */
  public SparkGenerationEvaluator(
      SparkSession spark,
      EvalSpec spec,
      String devSetUri,
      String textField,
      int shardCount,
      double gpusPerTask) {
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
    jsc.setJobGroup("evomerge-setup", "evomerge: read dev set " + devSetUri, false);
    try {
      this.spec = jsc.broadcast(spec);
      this.shards = devShards(spark, devSetUri, textField, shardCount, spec.hadoopConf());
    } finally {
      jsc.clearJobGroup();
    }
  }

  private static JavaRDD<DevExample> devShards(
      SparkSession spark, String uri, String field, int shardCount, Map<String, String> hadoop) {
    Dataset<Row> rows;
    try {
      // the run's Hadoop settings (fs.s3a.*) as source options: they reach the file system even
      // when the session was started without them
      rows = spark.read().options(hadoop).json(uri).select(functions.col("`" + field + "`"));
    } catch (Exception e) {
      if (e instanceof AnalysisException || e.getCause() instanceof AnalysisException) {
        throw new RunError(
            String.format("Dev set %s has no field '%s' (evomerge.eval.text-field)", uri, field),
            e);
      }
      throw e;
    }
    JavaRDD<DevExample> examples =
        rows.javaRDD()
            .zipWithIndex()
            .map(t -> new DevExample(t._2(), t._1().isNullAt(0) ? null : t._1().getString(0)))
            .repartition(shardCount)
            .persist(StorageLevel.MEMORY_ONLY());
    List<DevExample> missing = examples.filter(e -> e.text() == null).take(1);
    if (!missing.isEmpty()) {
      throw new RunError(
          String.format(
              "Dev set %s row %d has no field '%s' (evomerge.eval.text-field)",
              uri, missing.get(0).index() + 1, field));
    }
    return examples;
  }

  @Override
  public Map<Long, CandidateResult> evaluate(String description, List<CandidateSpec> candidates) {
    SparkContext sc = spark.sparkContext();
    sc.setJobGroup("evomerge-generation", description, false);
    Broadcast<CandidateSpec[]> broadcast = jsc.broadcast(candidates.toArray(new CandidateSpec[0]));
    try {
      JavaPairRDD<Long, CandidateResult> scored =
          shards.mapPartitionsToPair(
              new EvaluateShardFunction(spec, broadcast, examplesScored, tokensScored));
      if (profile != null) {
        scored.rdd().withResources(profile); // the evaluation stage asks for its GPUs
      }
      Map<Long, CandidateResult> reduced = scored.reduceByKey(CandidateResult::plus).collectAsMap();
      return new HashMap<>(reduced);
    } finally {
      broadcast.destroy();
      sc.clearJobGroup();
    }
  }

  /** Number of dev shards each generation is split into. */
  public int shardCount() {
    return shardCount;
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
    shards.unpersist(false);
    spec.destroy();
  }
}
