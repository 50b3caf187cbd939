package dev.evomerge.driver.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.spark.SparkGenerationEvaluator;
import dev.evomerge.driver.spark.TestSpark;
import dev.evomerge.driver.toy.ToyZoo;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.ResidentSources;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SparkEvaluationTest {
  @TempDir static Path tmp;
  static RunSettings settings;
  static Preflight.CheckedRun checked;
  static SparkSession spark;

  /** Four merges that score differently. */
  private static final List<CandidateSpec> FOUR_CANDIDATES =
      List.of(
          new CandidateSpec(0, new double[] {1, 1, 1}),
          new CandidateSpec(1, new double[] {0.6, 0.3, 0.1}),
          new CandidateSpec(2, new double[] {0.05, 0.9, 0.2}),
          new CandidateSpec(3, new double[] {1, 0, 0}));

  @BeforeAll
  static void setUp() throws Exception {
    File conf = tmp.resolve("run.conf").toFile();
    Files.writeString(conf.toPath(), ToyFixtures.config(tmp.resolve("runs")));
    settings = ConfigLoader.load(conf, List.of());
    checked = Preflight.check(settings);
    spark = TestSpark.session();
  }

  @Test
  void sparkFitnessEqualsTheSameComputationWithoutSpark() {
    assertEquals("true", spark.conf().get("spark.kryo.registrationRequired"));
    assertEquals("local[2]", spark.sparkContext().master());
    List<CandidateSpec> candidates = FOUR_CANDIDATES;
    ToyZoo.Zoo zoo = ToyFixtures.zoo();
    Map<Long, CandidateResult> local =
        new LocalGenerationEvaluator(checked.spec(), checked.rows())
            .evaluate("generation 0", candidates);
    Map<Long, CandidateResult> distributed;
    try (SparkGenerationEvaluator evaluator =
        new SparkGenerationEvaluator(spark, checked.spec(), checked.rows(), 2)) {
      distributed = evaluator.evaluate("generation 0", candidates);
    }
    assertEquals(candidates.size(), distributed.size());
    for (CandidateSpec c : candidates) {
      CandidateResult a = local.get(c.id());
      CandidateResult b = distributed.get(c.id());
      assertEquals(a.tokens(), b.tokens(), "tokens of " + c);
      assertEquals(a.examples(), b.examples(), "rows of " + c);
      // the same float32 forward passes; only batch composition and summation order differ
      assertEquals(
          checked.fitness().fitness(a.tasks()),
          checked.fitness().fitness(b.tasks()),
          1e-5,
          "fitness of " + c);
    }
    // and the four candidates really differ, so the comparison above is not vacuous
    assertTrue(
        Math.abs(
                distributed.get(1L).tasks().get("dev").metric("mean_loglik")
                    - distributed.get(2L).tasks().get("dev").metric("mean_loglik"))
            > 0.05);
  }

  @Test
  void fitnessIsTheSameBitForBitHoweverTheTasksAreCut() {
    List<CandidateSpec> candidates = FOUR_CANDIDATES;
    try (SparkGenerationEvaluator evaluator =
        new SparkGenerationEvaluator(spark, checked.spec(), checked.rows(), 4)) {
      // 4 candidates on local[2]: 2 tasks of 2 candidates, each on all 4 shards
      long before = evaluator.materialisations();
      Map<Long, CandidateResult> grouped = evaluator.evaluate("grouped", candidates);
      assertEquals(4, evaluator.materialisations() - before, "each candidate materialised once");
      for (CandidateSpec c : candidates) {
        // 1 candidate on 2 slots: 2 tasks of 2 shards each
        before = evaluator.materialisations();
        CandidateResult alone = evaluator.evaluate("alone", List.of(c)).get(c.id());
        assertEquals(2, evaluator.materialisations() - before, "split over the shards");
        var a = grouped.get(c.id()).tasks().get("dev");
        var b = alone.tasks().get("dev");
        assertEquals(a.sumLogLik(), b.sumLogLik(), 0.0, "log-likelihood of " + c);
        assertEquals(
            List.of(a.examples(), a.tokens(), a.correct(), a.correctNorm()),
            List.of(b.examples(), b.tokens(), b.correct(), b.correctNorm()),
            "counts of " + c);
        assertEquals(
            checked.fitness().fitness(grouped.get(c.id()).tasks()),
            checked.fitness().fitness(alone.tasks()),
            0.0,
            "fitness of " + c);
      }
    }
  }

  @Test
  void mergeCloserToTheTargetScoresBetter() {
    double[] target = ToyFixtures.TARGET_MIX;
    List<CandidateSpec> candidates =
        List.of(
            new CandidateSpec(0, target),
            new CandidateSpec(1, new double[] {1, 1, 1}),
            new CandidateSpec(2, new double[] {0, 1, 0}),
            new CandidateSpec(3, new double[] {0.5, 0.35, 0.15}));
    Map<Long, CandidateResult> scores;
    try (SparkGenerationEvaluator evaluator =
        new SparkGenerationEvaluator(spark, checked.spec(), checked.rows(), 2)) {
      evaluator.evaluate("generation 0", candidates.subList(0, 1));
      long loads = ResidentSources.loadCount();
      long bytesRead = storageBytesRead();
      long cacheRead = ResidentSources.cache().stats().storageBytesRead();
      scores = evaluator.evaluate("generation 1", candidates);
      // sources stay resident across generations and tasks: nothing is read again, not even a
      // header (the driver's version keys identify them)
      assertEquals(loads, ResidentSources.loadCount());
      assertEquals(0, storageBytesRead() - bytesRead, "bytes read from storage after generation 1");
      assertEquals(cacheRead, ResidentSources.cache().stats().storageBytesRead());
    }
    double exact = scores.get(0L).tasks().get("dev").metric("mean_loglik");
    double near = scores.get(3L).tasks().get("dev").metric("mean_loglik");
    double uniform = scores.get(1L).tasks().get("dev").metric("mean_loglik");
    double single = scores.get(2L).tasks().get("dev").metric("mean_loglik");
    assertTrue(exact > near, "target mix " + exact + " vs near it " + near);
    assertTrue(near > uniform, "near the target " + near + " vs uniform " + uniform);
    assertTrue(uniform > single, "uniform " + uniform + " vs a single source " + single);
  }

  @Test
  void failingCandidatesAreReportedWhileTheOthersAreScored() {
    List<CandidateSpec> candidates =
        List.of(
            new CandidateSpec(0, new double[] {1, 1, 1}),
            new CandidateSpec(1, new double[] {Double.NaN, 1, 1}),
            new CandidateSpec(2, new double[] {1, 1}));
    Map<Long, CandidateResult> results;
    long tokensBefore;
    try (SparkGenerationEvaluator evaluator =
        new SparkGenerationEvaluator(spark, checked.spec(), checked.rows(), 2)) {
      tokensBefore = evaluator.tokensScored();
      results = evaluator.evaluate("failures", candidates);
      // the named accumulator counts only what was really scored
      assertEquals(results.get(0L).tokens(), evaluator.tokensScored() - tokensBefore);
    }
    assertTrue(!results.get(0L).isFailed() && results.get(0L).tokens() > 0);
    assertTrue(results.get(1L).isFailed());
    assertTrue(results.get(1L).error().contains("non-finite"), results.get(1L).error());
    assertTrue(results.get(2L).isFailed());
    assertTrue(results.get(2L).error().contains("Genome has 2 genes"), results.get(2L).error());
  }

  @SuppressWarnings("deprecation")
  private static long storageBytesRead() {
    long sum = 0;
    for (org.apache.hadoop.fs.FileSystem.Statistics st :
        org.apache.hadoop.fs.FileSystem.getAllStatistics()) {
      sum += st.getBytesRead();
    }
    return sum;
  }
}
