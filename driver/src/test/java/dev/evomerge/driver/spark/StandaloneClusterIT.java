package dev.evomerge.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.run.LocalGenerationEvaluator;
import dev.evomerge.driver.run.Preflight;
import dev.evomerge.driver.run.ToyFixtures;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distributed path on a real Spark standalone cluster (master and two workers as separate JVMs
 * on 127.0.0.1), with the spark-submit jar shipped to the executors.
 */
class StandaloneClusterIT {
  @TempDir static Path tmp;
  static StandaloneCluster cluster;
  static SparkSession spark;
  static Preflight.CheckedRun checked;
  static List<CandidateSpec> candidates;
  static Map<Long, CandidateResult> reference;

  @BeforeAll
  static void start() throws Exception {
    cluster = StandaloneCluster.start(tmp.resolve("cluster"), 2);
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, ToyFixtures.config(tmp.resolve("runs")));
    RunSettings settings = ConfigLoader.load(conf.toFile(), List.of());
    checked = Preflight.check(settings);
    SparkSession.Builder builder =
        SparkSession.builder()
            .appName("evomerge-cluster-it")
            .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
            .config("spark.kryo.registrator", "dev.evomerge.worker.spark.EvomergeKryoRegistrator")
            .config("spark.kryo.registrationRequired", "true")
            .config("spark.task.maxFailures", "4");
    cluster.driverSettings(System.getProperty("it.sparkJar")).forEach(builder::config);
    spark = builder.getOrCreate();
    candidates = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      candidates.add(new CandidateSpec(i, new double[] {1 + i, 6 - i, 0.5 + (i % 3)}));
    }
    reference =
        new LocalGenerationEvaluator(checked.spec(), checked.rows())
            .evaluate("generation 0", candidates);
  }

  @AfterAll
  static void stop() {
    if (spark != null) {
      spark.stop();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  private static void assertSameAsLocal(Map<Long, CandidateResult> scores) {
    assertEquals(candidates.size(), scores.size());
    for (CandidateSpec c : candidates) {
      assertFalse(scores.get(c.id()).isFailed(), String.valueOf(scores.get(c.id()).error()));
      assertEquals(reference.get(c.id()).tokens(), scores.get(c.id()).tokens(), c.toString());
      assertEquals(
          reference.get(c.id()).tasks().get("dev").metric("mean_loglik"),
          scores.get(c.id()).tasks().get("dev").metric("mean_loglik"),
          1e-5,
          c.toString());
    }
  }

  @Test
  void executorsInOtherJvmsComputeTheSameFitness() {
    try (SparkGenerationEvaluator evaluator =
        new SparkGenerationEvaluator(spark, checked.spec(), checked.rows(), 4)) {
      Map<Long, CandidateResult> scores = evaluator.evaluate("generation 0", candidates);
      assertSameAsLocal(scores);
      // without a GPU profile, tasks stay on the CPU even on executors that have GPUs
      scores
          .values()
          .forEach(r -> assertTrue(r.devices().matches("(executor \\d+: cpu(; )?)+"), r.devices()));
    }
    Set<Long> pids = new HashSet<>();
    cluster.executors().forEach(p -> pids.add(p.pid()));
    assertEquals(2, pids.size(), "one executor JVM per worker");
    assertFalse(pids.contains(ProcessHandle.current().pid()));
  }

  @Test
  void killingAnExecutorMidGenerationGivesTheSameResult() throws Exception {
    try (SparkGenerationEvaluator evaluator =
        new SparkGenerationEvaluator(spark, checked.spec(), checked.rows(), 4)) {
      evaluator.evaluate(
          "generation 0", candidates.subList(0, 1)); // warm: executors up, sources resident
      CompletableFuture<Boolean> killed = new CompletableFuture<>();
      AtomicInteger failedTasks = new AtomicInteger();
      spark
          .sparkContext()
          .addSparkListener(
              new SparkListener() {
                @Override
                public void onTaskEnd(SparkListenerTaskEnd end) {
                  if (end.taskInfo().failed()) {
                    failedTasks.incrementAndGet();
                  }
                }

                @Override
                public void onTaskStart(SparkListenerTaskStart start) {
                  if (!killed.isDone()) {
                    List<ProcessHandle> executors = cluster.executors();
                    killed.complete(!executors.isEmpty() && executors.get(0).destroyForcibly());
                  }
                }
              });
      Map<Long, CandidateResult> scores = evaluator.evaluate("generation 1", candidates);
      assertTrue(killed.get(10, TimeUnit.SECONDS), "an executor was killed with SIGKILL");
      assertTrue(failedTasks.get() > 0, "the kill hit a running task, which Spark re-ran");
      assertSameAsLocal(scores);
    }
  }

  @Test
  void gpuTasksRunWithTheirAssignedGpuAndScoreTheSame() {
    try (SparkGenerationEvaluator evaluator =
        new SparkGenerationEvaluator(spark, checked.spec(), checked.rows(), 4, 1)) {
      Map<Long, CandidateResult> scores = evaluator.evaluate("gpu generation", candidates);
      assertSameAsLocal(scores);
      // 6 candidates on 2 GPU slots: one task per slot, each candidate materialised once
      assertEquals(candidates.size(), evaluator.materialisations());
      for (CandidateResult r : scores.values()) {
        // the fake GPU reached the task; with no CUDA here the task ran on the CPU and said so
        assertTrue(
            r.devices().matches("(executor \\d+: cpu \\(gpu 0 assigned, no CUDA\\)(; )?)+"),
            r.devices());
      }
    }
  }
}
