package dev.evomerge.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.run.Preflight;
import dev.evomerge.driver.run.ToyFixtures;
import dev.evomerge.worker.eval.CandidateSpec;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the Spark UI and the console see of a generation: its job group and description, the named
 * accumulators on its stage, and the console progress bar driven by its task ends.
 */
class GenerationJobsTest {
  @TempDir Path tmp;

  @Test
  void aGenerationIsOneDescribedJobWithNamedAccumulatorsAndDrivesTheProgressBar() throws Exception {
    SparkSession spark = TestSpark.session();
    File conf = tmp.resolve("run.conf").toFile();
    Files.writeString(conf.toPath(), ToyFixtures.config(tmp.resolve("runs")));
    Preflight.CheckedRun checked = Preflight.check(ConfigLoader.load(conf, List.of()));
    List<String> groups = new ArrayList<>();
    List<String> descriptions = new ArrayList<>();
    Set<String> accumulators = new TreeSet<>();
    SparkListener recorder =
        new SparkListener() {
          @Override
          public synchronized void onJobStart(SparkListenerJobStart start) {
            groups.add(start.properties().getProperty("spark.jobGroup.id"));
            descriptions.add(start.properties().getProperty("spark.job.description"));
          }

          @Override
          public synchronized void onStageCompleted(SparkListenerStageCompleted done) {
            for (AccumulableInfo a :
                scala.jdk.javaapi.CollectionConverters.asJava(
                    done.stageInfo().accumulables().values())) {
              if (a.name().isDefined()) {
                accumulators.add(a.name().get());
              }
            }
          }
        };
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    ConsoleProgress progress =
        new ConsoleProgress(
            new PrintStream(console, true, StandardCharsets.UTF_8),
            SparkGenerationEvaluator.JOB_GROUP);
    spark.sparkContext().addSparkListener(recorder);
    spark.sparkContext().addSparkListener(progress);
    String description = "evomerge generation 3/6 · 2 candidates × 2 dev shards · best -2.7";
    try (SparkGenerationEvaluator evaluator =
        new SparkGenerationEvaluator(spark, checked.spec(), checked.rows(), 2)) {
      evaluator.evaluate(
          description,
          List.of(
              new CandidateSpec(0, new double[] {1, 1, 1}),
              new CandidateSpec(1, new double[] {0.2, 0.5, 0.3})));
      assertEquals(2, evaluator.materialisations(), "2 candidates on 2 slots: each once");
      spark.sparkContext().listenerBus().waitUntilEmpty();
    } finally {
      spark.sparkContext().removeSparkListener(recorder);
      spark.sparkContext().removeSparkListener(progress);
    }
    synchronized (recorder) {
      assertEquals(List.of(SparkGenerationEvaluator.JOB_GROUP), groups, "one job per generation");
      assertEquals(List.of(description), descriptions);
      assertTrue(
          accumulators.containsAll(
              Set.of(
                  "evomerge examples scored",
                  "evomerge tokens scored",
                  "evomerge candidates materialised")),
          accumulators.toString());
    }
    String drawn = console.toString(StandardCharsets.UTF_8);
    assertTrue(drawn.startsWith("\rgeneration 3/6 [" + " ".repeat(20) + "] 0/2 tasks"), drawn);
    assertTrue(
        drawn.contains("\rgeneration 3/6 [" + "#".repeat(10) + " ".repeat(10) + "] 1/2 tasks"),
        drawn);
    assertTrue(drawn.endsWith("\rgeneration 3/6 [" + "#".repeat(20) + "] 2/2 tasks"), drawn);
    progress.finish();
    String erased = console.toString(StandardCharsets.UTF_8).substring(drawn.length());
    assertEquals("\r" + " ".repeat("generation 3/6 [] 2/2 tasks".length() + 20) + "\r", erased);
  }
}
