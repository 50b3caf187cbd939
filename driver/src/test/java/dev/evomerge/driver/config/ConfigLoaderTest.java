package dev.evomerge.driver.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @TempDir Path tmp;

  private Path file(String text) throws Exception {
    Path p = tmp.resolve("user.conf");
    Files.writeString(p, text);
    return p;
  }

  private static final String MINIMAL =
      "evomerge.models.sources = [a, b]\nevomerge.eval.dev-set = dev.jsonl\n";

  @Test
  void defaultsComeFromReferenceConf() throws Exception {
    RunSettings s = ConfigLoader.load(file(MINIMAL).toFile(), List.of());
    assertEquals("cmaes", s.search().strategy());
    assertEquals(0, s.search().maxEvaluations());
    assertEquals("linear", s.mergeMethod());
    assertEquals("local[*]", s.spark().get("spark.master"));
    assertEquals("true", s.spark().get("spark.kryo.registrationRequired"));
    assertEquals(List.of("a", "b"), s.sources());
  }

  @Test
  void overridesBeatTheFileAndTheFileBeatsDefaults() throws Exception {
    Path f = file(MINIMAL + "evomerge.search.max-evaluations = 5\nevomerge.search.lower = -1\n");
    assertEquals(5, ConfigLoader.load(f.toFile(), List.of()).search().maxEvaluations());
    assertEquals(
        3,
        ConfigLoader.load(f.toFile(), List.of("evomerge.search.max-evaluations=3"))
            .search()
            .maxEvaluations());
    assertEquals(-1.0, ConfigLoader.load(f.toFile(), List.of()).search().lower());
  }

  @Test
  void batchSizeIsAutomaticByDefaultAndExplicitSizesWin() throws Exception {
    Path f = file(MINIMAL);
    RunSettings defaults = ConfigLoader.load(f.toFile(), List.of());
    assertEquals(0, defaults.eval().batchSize(), "auto");
    assertTrue(defaults.recordExamples());
    assertEquals(
        12,
        ConfigLoader.load(f.toFile(), List.of("evomerge.eval.batch-size=12")).eval().batchSize());
    assertEquals(
        0, ConfigLoader.load(f.toFile(), List.of("evomerge.eval.batch-size=0")).eval().batchSize());
    assertFalse(
        ConfigLoader.load(f.toFile(), List.of("evomerge.run.record-examples=false"))
            .recordExamples());
    for (String bad : List.of("-3", "lots")) {
      ConfigError e =
          assertThrows(
              ConfigError.class,
              () -> ConfigLoader.load(f.toFile(), List.of("evomerge.eval.batch-size=" + bad)));
      assertTrue(
          e.getMessage().contains("evomerge.eval.batch-size") && e.getMessage().contains("auto"),
          e.getMessage());
    }
  }

  @Test
  void maxShardSizeTakesTheMergeCommandsSyntaxAndABadOneNamesTheKey() throws Exception {
    Path f = file(MINIMAL);
    assertEquals(5_000_000_000L, ConfigLoader.load(f.toFile(), List.of()).maxShardBytes());
    assertEquals(
        500_000_000L,
        ConfigLoader.load(f.toFile(), List.of("evomerge.merge.max-shard-size=500MB"))
            .maxShardBytes());
    assertEquals(
        2L << 30,
        ConfigLoader.load(f.toFile(), List.of("evomerge.merge.max-shard-size=2GiB"))
            .maxShardBytes());
    assertEquals(
        4096,
        ConfigLoader.load(f.toFile(), List.of("evomerge.merge.max-shard-size=4096"))
            .maxShardBytes());
    for (String bad : List.of("0", "0.1B", "lots", "5 parsecs", "[1]")) {
      ConfigError e =
          assertThrows(
              ConfigError.class,
              () -> ConfigLoader.load(f.toFile(), List.of("evomerge.merge.max-shard-size=" + bad)),
              bad);
      assertTrue(
          e.getMessage().contains("evomerge.merge.max-shard-size")
              && e.getMessage().contains("positive size"),
          e.getMessage());
    }
  }

  @Test
  void sparkKeysPassThroughIncludingQuotedOnes() throws Exception {
    Path f =
        file(
            MINIMAL
                + "spark.executor.memory = 3g\n"
                + "\"spark.hadoop.fs.s3a.endpoint.region\" = us-east-1\n");
    RunSettings s = ConfigLoader.load(f.toFile(), List.of("spark.master=local[1]"));
    assertEquals("3g", s.spark().get("spark.executor.memory"));
    assertEquals("us-east-1", s.spark().get("spark.hadoop.fs.s3a.endpoint.region"));
    assertEquals("local[1]", s.spark().get("spark.master"));
  }

  @Test
  void unknownKeyNamesKeyFileLineAndSuggestion() throws Exception {
    Path f = file(MINIMAL + "evomerge.eval.shard = 3\n");
    ConfigError e = assertThrows(ConfigError.class, () -> ConfigLoader.load(f.toFile(), List.of()));
    assertTrue(e.getMessage().contains("'evomerge.eval.shard'"), e.getMessage());
    assertTrue(e.getMessage().contains("user.conf: 3"), e.getMessage());
    assertTrue(e.getMessage().contains("did you mean 'evomerge.eval.shards'"), e.getMessage());
  }

  @Test
  void strategyOptionsPassThroughToTheStrategy() throws Exception {
    Path f = file(MINIMAL + "evomerge.search.options { populationSize = 6, sigma0 = 0.2 }\n");
    RunSettings s = ConfigLoader.load(f.toFile(), List.of("evomerge.search.strategy=ga"));
    assertEquals("ga", s.search().strategy());
    assertEquals(6, ((Number) s.search().options().get("populationSize")).intValue());
    ConfigError e =
        assertThrows(
            ConfigError.class,
            () -> ConfigLoader.load(f.toFile(), List.of("evomerge.search.strategy=cmaez")));
    assertTrue(e.getMessage().contains("evomerge.search.strategy"), e.getMessage());
  }

  @Test
  void unknownKeyInAnOverrideNamesTheOverride() throws Exception {
    ConfigError e =
        assertThrows(
            ConfigError.class,
            () -> ConfigLoader.load(file(MINIMAL).toFile(), List.of("evomerge.nope=1")));
    assertTrue(e.getMessage().contains("'evomerge.nope'"), e.getMessage());
    assertTrue(e.getMessage().contains("--set evomerge.nope"), e.getMessage());
  }

  @Test
  void wrongTypeNamesTheKeyAndWhereItWasSet() throws Exception {
    Path f = file(MINIMAL + "evomerge.search.upper = wide\n");
    ConfigError e = assertThrows(ConfigError.class, () -> ConfigLoader.load(f.toFile(), List.of()));
    assertTrue(e.getMessage().contains("evomerge.search.upper"), e.getMessage());
    assertTrue(e.getMessage().contains("user.conf: 3"), e.getMessage());
  }

  @Test
  void outOfRangeValueNamesTheKey() throws Exception {
    ConfigError e =
        assertThrows(
            ConfigError.class,
            () -> ConfigLoader.load(file(MINIMAL).toFile(), List.of("evomerge.search.upper=-2")));
    assertTrue(e.getMessage().contains("evomerge.search.upper"), e.getMessage());
    assertTrue(e.getMessage().contains("greater than evomerge.search.lower"), e.getMessage());
  }

  @Test
  void missingDevSetAndMissingFileAreErrors() throws Exception {
    ConfigError noDev =
        assertThrows(
            ConfigError.class,
            () ->
                ConfigLoader.load(file("evomerge.models.sources = [a, b]\n").toFile(), List.of()));
    assertTrue(noDev.getMessage().contains("evomerge.eval.dev-set"), noDev.getMessage());
    ConfigError noFile =
        assertThrows(
            ConfigError.class,
            () -> ConfigLoader.load(tmp.resolve("absent.conf").toFile(), List.of()));
    assertTrue(noFile.getMessage().contains("absent.conf"), noFile.getMessage());
  }

  @Test
  void everyReferenceKeyIsDocumentedByAComment() {
    // reference.conf is the documentation of the keys: each leaf under evomerge has a comment
    var reference = ConfigLoader.reference();
    for (var e : reference.getConfig("evomerge").entrySet()) {
      assertTrue(
          !e.getValue().origin().comments().isEmpty(), "undocumented key evomerge." + e.getKey());
    }
  }

  @Test
  void secretsAreRedactedInTheSavedConfigButPassedToSpark() throws Exception {
    Path f =
        file(
            MINIMAL
                + "spark.hadoop.fs.s3a.secret.key = hunter2\n"
                + "spark.hadoop.fs.s3a.access.key = AKIAEXAMPLE\n"
                + "spark.hadoop.fs.s3a.endpoint = \"http://127.0.0.1:9000\"\n");
    RunSettings s = ConfigLoader.load(f.toFile(), List.of());
    assertEquals("hunter2", s.spark().get("spark.hadoop.fs.s3a.secret.key"));
    assertTrue(!s.renderedConfig().contains("hunter2"), s.renderedConfig());
    assertTrue(!s.renderedConfig().contains("AKIAEXAMPLE"), s.renderedConfig());
    assertTrue(s.renderedConfig().contains("127.0.0.1:9000"), s.renderedConfig());
    assertTrue(s.renderedConfig().contains("<redacted>"));
  }
}
