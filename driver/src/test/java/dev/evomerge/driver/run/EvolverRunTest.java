package dev.evomerge.driver.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.config.ConfigError;
import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.spark.SparkGenerationEvaluator;
import dev.evomerge.driver.spark.TestSpark;
import dev.evomerge.driver.toy.ToyZoo;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.merge.MergeRunner;
import dev.evomerge.worker.merge.MergeStatistics;
import dev.evomerge.worker.merge.RecipeYaml;
import dev.evomerge.worker.merge.StatisticsFolder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Evolver's evolve-then-merge mode on the toy zoo, statistics computed on Spark. */
class EvolverRunTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private String sources;

  @org.junit.jupiter.api.BeforeEach
  void copySources() throws Exception {
    sources = ToyFixtures.copiedSources(Files.createDirectories(tmp.resolve("sources")));
  }

  private RunSettings settings(String... extra) throws Exception {
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, ToyFixtures.config(tmp.resolve("runs")));
    ToyZoo.Zoo zoo = ToyFixtures.zoo();
    String data = "[\"" + zoo.devSet() + "\", \"" + zoo.testSet() + "\", \"" + zoo.devSet() + "\"]";
    List<String> sets =
        new ArrayList<>(
            List.of(
                "evomerge.search.strategy=evolver",
                "evomerge.search.options.populationSize=3",
                "evomerge.search.final-merge=regmean",
                "evomerge.search.final-merge-parameters.alpha=0.5",
                "evomerge.merge.layer-groups=2",
                "evomerge.run.generations=3",
                "evomerge.statistics.data=" + data,
                "evomerge.statistics.max-rows=6",
                "evomerge.statistics.max-length=24",
                "evomerge.statistics.shards=2",
                "evomerge.models.sources=" + sources));
    sets.addAll(List.of(extra));
    return ConfigLoader.load(conf.toFile(), sets);
  }

  @Test
  void badSettingsAreRefusedNamingTheKey() throws Exception {
    ConfigError c =
        assertThrows(ConfigError.class, () -> settings("evomerge.search.final-merge=none"));
    assertTrue(c.getMessage().contains("evomerge.search.final-merge"), c.getMessage());
    c =
        assertThrows(
            ConfigError.class,
            () -> settings("evomerge.search.strategy=cmaes", "evomerge.search.final-merge=fisher"));
    assertTrue(c.getMessage().contains("needs evomerge.search.strategy = evolver"), c.getMessage());
    c = assertThrows(ConfigError.class, () -> settings("evomerge.statistics.data=[\"a.jsonl\"]"));
    assertTrue(c.getMessage().contains("evomerge.statistics.data"), c.getMessage());

    RunSettings dare = settings("evomerge.merge.method=dare_ties");
    RunError e = assertThrows(RunError.class, () -> Preflight.check(dare));
    assertTrue(e.getMessage().contains("evomerge.merge.method = linear"), e.getMessage());
    RunSettings missing =
        settings("evomerge.statistics.data=[\"/nope/a.jsonl\", \"/nope/b.jsonl\", \"/nope/c\"]");
    e = assertThrows(RunError.class, () -> Preflight.check(missing));
    assertTrue(
        e.getMessage().contains("No statistics data file:/nope/a.jsonl")
            && e.getMessage().contains("evomerge.statistics.data"),
        e.getMessage());
    RunSettings noTrain = settings("evomerge.statistics.data=[]");
    e = assertThrows(RunError.class, () -> Preflight.check(noTrain));
    assertTrue(e.getMessage().contains("train.jsonl in the source's folder"), e.getMessage());
    RunSettings alpha = settings("evomerge.search.final-merge-parameters.alpha=3");
    e = assertThrows(RunError.class, () -> Preflight.check(alpha));
    assertTrue(
        e.getMessage().contains("Invalid alpha")
            && e.getMessage().contains("evomerge.search.final-merge-parameters"),
        e.getMessage());
  }

  @Test
  void evolvesThePopulationMergesItWithRegmeanAndWritesReproducibleRecipes() throws Exception {
    // block-diagonal Gram matrices (16 x 16 blocks of the 64 and 176 inputs) all the way through
    RunSettings settings = settings("evomerge.statistics.gram-block=16");
    Preflight.CheckedRun checked = Preflight.check(settings);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8);
    checked = EvolverRun.prepareStatistics(TestSpark.session(), settings, checked, out);
    assertTrue(log.toString(StandardCharsets.UTF_8).contains("computed"), log.toString());
    assertEquals(3, checked.spec().population().statisticsKeys().size());
    StatisticsFolder gram =
        StatisticsFolder.open(
            Map.of("s0", checked.spec().population().statistics().get(0)),
            java.util.Set.of(MergeStatistics.Kind.GRAM),
            new Configuration());
    assertArrayEquals(
        new long[] {4, 16, 16},
        gram.shape(MergeStatistics.Kind.GRAM, "s0", "model.layers.0.self_attn.q_proj.weight"));
    assertArrayEquals(
        new long[] {11, 16, 16},
        gram.shape(MergeStatistics.Kind.GRAM, "s0", "model.layers.1.mlp.down_proj.weight"));
    // cached with the model: a second preparation computes nothing
    log.reset();
    Preflight.CheckedRun again =
        EvolverRun.prepareStatistics(TestSpark.session(), settings, Preflight.check(settings), out);
    assertTrue(!log.toString(StandardCharsets.UTF_8).contains("computed"), log.toString());
    assertEquals(checked.spec(), again.spec());

    RunFolder folder = RunFolder.create(settings.outputRoot(), "evolver", "");
    GenerationLoop.Result result =
        new GenerationLoop(
                settings,
                checked,
                new LocalGenerationEvaluator(checked.spec(), checked.rows()),
                folder,
                out)
            .execute();
    List<String> history = Files.readAllLines(folder.dir().resolve("history.jsonl"));
    assertEquals(1 + 2 * 3, history.size()); // the initial population, then 3 trials a generation
    double initial = JSON.readTree(history.get(0)).get("fitness").asDouble();
    assertTrue(result.best().fitness() >= initial);

    // the Spark path scores the best population as the local one did
    try (SparkGenerationEvaluator spark =
        new SparkGenerationEvaluator(TestSpark.session(), checked.spec(), checked.rows(), 2)) {
      double f =
          spark
              .evaluate("check", List.of(new CandidateSpec(0, result.best().genome().genes())))
              .get(0L)
              .tasks()
              .get("dev")
              .metric("mean_loglik");
      assertEquals(result.best().fitness(), f, 1e-6);
    }

    // best/ is the merged population; its recipes reproduce it with evomerge merge
    Path best = folder.dir().resolve("best");
    String recipe = Files.readString(best.resolve("recipe.yaml"));
    assertTrue(recipe.contains("merge_method: regmean"), recipe);
    assertTrue(recipe.contains("individual-2"), recipe);
    JsonNode about = JSON.readTree(folder.dir().resolve("best.json").toFile());
    assertEquals("regmean", about.get("final_merge").asText());
    Configuration conf = new Configuration();
    Map<String, String> locations = new LinkedHashMap<>();
    Map<String, String> statistics = new LinkedHashMap<>();
    for (int i = 0; i < 3; i++) {
      Path ind = tmp.resolve("individual-" + i);
      MergeRunner.run(
          RecipeYaml.parse(Files.readString(best.resolve("individuals/individual-" + i + ".yaml"))),
          new org.apache.hadoop.fs.Path(ind.toUri()),
          conf,
          new MergeRunner.Options(Device.cpu(), settings.seed(), Map.of()),
          (done, total, tensor) -> {});
      locations.put("individual-" + i, ind.toString());
      statistics.put("individual-" + i, checked.spec().population().statistics().get(i));
    }
    Path again2 = tmp.resolve("reproduced");
    MergeRunner.run(
        RecipeYaml.parse(recipe),
        new org.apache.hadoop.fs.Path(again2.toUri()),
        conf,
        new MergeRunner.Options(Device.cpu(), settings.seed(), locations, statistics, 1L << 30),
        (done, total, tensor) -> {});
    HfModelFolder written = HfModelFolder.open(best.toString(), conf);
    HfModelFolder reproduced = HfModelFolder.open(again2.toString(), conf);
    for (String name : written.tensors().keySet()) {
      FloatTensor a = written.readFloat(name);
      FloatTensor b = reproduced.readFloat(name);
      for (int j = 0; j < a.data().length; j++) {
        assertEquals(a.data()[j], b.data()[j], 1e-4, name + "[" + j + "]");
      }
    }
  }
}
