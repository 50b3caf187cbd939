package dev.evomerge.driver.run;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.config.ConfigError;
import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.spark.SparkGenerationEvaluator;
import dev.evomerge.driver.spark.TestSpark;
import dev.evomerge.driver.toy.ToyZoo;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.DataFlowSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.LayerPathWriter;
import dev.evomerge.worker.eval.MergedModelWriter;
import dev.evomerge.worker.eval.ResidentSources;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.merge.MergeRecipe;
import dev.evomerge.worker.merge.MergeRunner;
import dev.evomerge.worker.model.LanguageModel;
import dev.evomerge.worker.model.LayerPathModel;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.LlamaModel;
import dev.evomerge.worker.model.ModelWeights;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataFlowRunTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private RunSettings settings(String... sets) throws Exception {
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, ToyFixtures.config(tmp.resolve("runs")));
    List<String> all =
        new ArrayList<>(
            List.of(
                "evomerge.search.space=dataflow",
                "evomerge.search.dataflow.repeats=2",
                "evomerge.search.strategy=cmaes",
                "evomerge.search.options.populationSize=6"));
    all.addAll(Arrays.asList(sets));
    return ConfigLoader.load(conf.toFile(), all);
  }

  /**
   * A path through all three toy models (2 layers each: 3 x 2 x 2 = 12 slots) with a repeated
   * layer; scaled: 0.0 0.0 1.1 1.1 2.0 0.1 with every scale off 1; unscaled: 0.0 0.1 1.0 1.1 1.1
   * 0.1, whose runs of consecutive layers make 4 slices.
   */
  private static double[] mixedGenome(DataFlowSpec flow, boolean scaled) {
    double[] g = flow.embeddingModelGenome(-0.5, 0.5);
    if (scaled) {
      g[0] = 0.4; // source 0 layer 0
      g[3] = 0.2; // source 1 layer 1
      g[6 + 3] = 0.7; // source 1 layer 1 again, second repeat
      g[6 + 4] = 0.1; // source 2 layer 0
      for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
          g[flow.scaleGene(i, j)] = 0.7 + 0.1 * i + 0.2 * j;
        }
      }
    } else {
      g[1] = 0.3; // source 0 layer 1
      g[2] = 0.3; // source 1 layer 0
      g[3] = 0.3; // source 1 layer 1
      g[6 + 3] = 0.3; // source 1 layer 1, second repeat
    }
    return g;
  }

  private static double devFitness(GenerationEvaluator e, double[] genes) {
    CandidateResult r = e.evaluate("t", List.of(new CandidateSpec(0, genes))).get(0L);
    assertFalse(r.isFailed(), r.error());
    return r.tasks().get("dev").metric("mean_loglik");
  }

  @Test
  void theEmbeddingModelsOwnPathScoresExactlyAsThatSourceAlone() throws Exception {
    Preflight.CheckedRun checked =
        Preflight.check(settings("evomerge.search.dataflow.embedding-model=1"));
    DataFlowSpec flow = checked.spec().dataFlow();
    assertEquals(List.of(2, 2, 2), flow.layers());
    assertEquals(12 + 9, flow.genomeLength());
    // the embedding model's tokenizer is the one scored with
    assertTrue(checked.spec().tokenizerUri().contains("source-1"), checked.spec().tokenizerUri());
    LocalGenerationEvaluator paths = new LocalGenerationEvaluator(checked.spec(), checked.rows());
    LocalGenerationEvaluator merges =
        new LocalGenerationEvaluator(checked.spec().asNormalizedLinear(), checked.rows());
    double own = devFitness(paths, flow.embeddingModelGenome(-0.5, 0.5));
    double alone = devFitness(merges, new double[] {0, 1, 0});
    assertEquals(alone, own, 1e-12);
    double mixed = devFitness(paths, mixedGenome(flow, true));
    assertNotEquals(own, mixed, 1e-3);
  }

  @Test
  void aPathRoundTripsThroughItsCheckpointAndAnUnscaledOneThroughMergekitsRecipe()
      throws Exception {
    Preflight.CheckedRun checked = Preflight.check(settings());
    EvalSpec spec = checked.spec();
    DataFlowSpec flow = spec.dataFlow();
    long[] ids = {1, 5, 9, 3, 7, 4, 12, 20};
    for (boolean scaled : new boolean[] {true, false}) {
      double[] genome = mixedGenome(flow, scaled);
      List<LayerPathModel.Hop> hops = flow.path(genome);
      assertEquals(6, hops.size(), hops.toString());
      Path out = tmp.resolve(scaled ? "scaled" : "unscaled");
      LayerPathWriter.write(
          spec, genome, new org.apache.hadoop.fs.Path(out.toUri()), DType.F32, null);
      JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
      assertEquals(6, config.get("num_hidden_layers").asInt());
      JsonNode record = config.get(LayerPathModel.CONFIG_KEY);
      assertEquals(6, record.get("hops").size());
      assertEquals(scaled, record.has("scales"));
      assertTrue(Files.exists(out.resolve("tokenizer.json")));
      float[] inMemory;
      float[] loaded;
      try (NDManager m = NDManager.newBaseManager(Device.cpu());
          var sources = ResidentSources.acquire(spec);
          NDScope scope = new NDScope()) {
        scope.suppressNotUsedWarning();
        NDArray input = m.create(ids, new Shape(1, ids.length));
        inMemory =
            new LayerPathModel(sources.value().sourceModels(), flow.embedding(), flow.head(), hops)
                .logits(input)
                .toFloatArray();
        HfModelFolder folder = HfModelFolder.open(out.toUri().toString(), new Configuration());
        LlamaConfig c = ModelWeights.config(folder);
        LanguageModel model =
            LayerPathModel.of(c, ModelWeights.load(folder, c, m), folder.config(), "config.json");
        assertEquals(!scaled, model instanceof LlamaModel);
        loaded = model.logits(input).toFloatArray();
      }
      assertArrayEquals(inMemory, loaded, "logits of the exported " + out.getFileName());
      if (scaled) {
        // a run would drop the scales of a source: refused before any work
        RunSettings withScaled =
            settings(
                "evomerge.models.sources=[\""
                    + out
                    + "\", \""
                    + ToyFixtures.zoo().sources().get(0)
                    + "\"]");
        RunError refused = assertThrows(RunError.class, () -> Preflight.check(withScaled));
        assertTrue(refused.getMessage().contains("layer path with scales"), refused.getMessage());
        // `evomerge score` applies the recorded scales: the checkpoint scores as the path did
        Path task = tmp.resolve("dev-task.conf");
        Files.writeString(
            task, "{name = dev, data = \"" + ToyFixtures.zoo().devSet() + "\", kind = loglik}");
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        int code =
            dev.evomerge.driver.score.ScoreCommand.run(
                new String[] {
                  "--model",
                  out.toString(),
                  "--task",
                  task.toString(),
                  "--json",
                  "--max-length",
                  "64"
                },
                new PrintStream(printed, true, StandardCharsets.UTF_8),
                System.err);
        assertEquals(0, code);
        double scored =
            JSON.readTree(printed.toString(StandardCharsets.UTF_8))
                .get("tasks")
                .get(0)
                .get("metrics")
                .get("mean_loglik")
                .asDouble();
        assertEquals(
            devFitness(new LocalGenerationEvaluator(spec, checked.rows()), genome), scored, 1e-5);
      }

      MergeRecipe recipe = LayerPathWriter.recipe(spec, genome, "float32");
      if (scaled) {
        assertNull(recipe, "mergekit cannot scale hidden states");
        continue;
      }
      assertNotNull(recipe);
      // 0.0-0.1 | 1.0-1.1 | 1.1 | 0.1: runs of consecutive layers become one slice
      assertEquals(4, recipe.slices().size(), recipe.toString());
      assertEquals(2, recipe.slices().get(1).length());
      Path viaMergekit = tmp.resolve("mergekit");
      MergeRunner.run(
          recipe,
          new org.apache.hadoop.fs.Path(viaMergekit.toUri()),
          new Configuration(),
          new MergeRunner.Options(Device.cpu(), 0, Map.of()),
          (done, total, tensor) -> {});
      HfModelFolder a = HfModelFolder.open(out.toUri().toString(), new Configuration());
      HfModelFolder b = HfModelFolder.open(viaMergekit.toUri().toString(), new Configuration());
      assertEquals(a.tensors().keySet(), b.tensors().keySet());
      for (String name : a.tensors().keySet()) {
        assertArrayEquals(a.readFloat(name).data(), b.readFloat(name).data(), name);
      }
      assertEquals(6, b.config().get("num_hidden_layers").asInt());
    }
  }

  @Test
  void aShortDataFlowRunOnTheToyZooChoosesASnapshotAndWritesItsPath() throws Exception {
    ToyZoo.Zoo zoo = ToyFixtures.zoo();
    RunSettings settings =
        settings(
            "evomerge.run.generations=3",
            "evomerge.search.dataflow.mini-batches=2",
            "evomerge.search.dataflow.holdout=0.25",
            "evomerge.eval.test-set=\"" + zoo.testSet() + "\"");
    Preflight.CheckedRun checked = Preflight.check(settings);
    DataFlowSpec flow = checked.spec().dataFlow();
    LocalGenerationEvaluator local = new LocalGenerationEvaluator(checked.spec(), checked.rows());
    RunFolder folder = RunFolder.create(settings.outputRoot(), "dataflow", "");
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    GenerationLoop.Result result =
        new GenerationLoop(
                settings,
                checked,
                local,
                folder,
                new PrintStream(console, true, StandardCharsets.UTF_8))
            .withHeldOutEvaluation(LocalGenerationEvaluator::new)
            .execute();
    String printed = console.toString(StandardCharsets.UTF_8);
    assertTrue(printed.contains("snapshot chosen on the held-out dev slice"), printed);
    assertTrue(printed.contains("with a path of"), printed);

    // generation g's candidates carry mini-batch g mod 2 after the genome
    List<String> history = Files.readAllLines(folder.dir().resolve("history.jsonl"));
    assertEquals(18, history.size());
    for (String line : history) {
      JsonNode h = JSON.readTree(line);
      assertEquals(flow.genomeLength() + 1, h.get("genome").size());
      assertEquals(
          h.get("generation").asInt() % 2, h.get("genome").get(flow.genomeLength()).asInt());
      assertTrue(h.get("fitness").isNumber(), line);
      assertEquals(12, h.get("recipe_hash").asText().length());
    }
    // the first generation's mean starts at the embedding model: the batch scores differ from
    // the whole dev set's, so the batches really are subsets
    double[] best = result.best().genome().genes();
    double[] onHoldout = Arrays.copyOf(best, best.length + 1);
    onHoldout[best.length] = DataFlowSpec.HOLDOUT;
    assertEquals(result.best().fitness(), devFitness(local, onHoldout), 1e-12);
    assertNotEquals(devFitness(local, onHoldout), devFitness(local, best), 1e-6);

    JsonNode bestJson = JSON.readTree(folder.dir().resolve("best.json").toFile());
    assertEquals("dataflow", bestJson.get("search_space").asText());
    List<LayerPathModel.Hop> hops = flow.path(best);
    assertEquals(hops.size(), bestJson.get("path").size());
    JsonNode config = JSON.readTree(folder.dir().resolve("best/config.json").toFile());
    assertEquals(hops.size(), config.get("num_hidden_layers").asInt());
    assertEquals(hops.size(), config.get(LayerPathModel.CONFIG_KEY).get("hops").size());
    assertEquals(
        "completed",
        JSON.readTree(folder.dir().resolve("status.json").toFile()).get("state").asText());
    JsonNode table = JSON.readTree(folder.dir().resolve("test-evaluation.json").toFile());
    assertEquals(5, table.get("models").size()); // the path, the uniform average, 3 sources
    String report = Files.readString(folder.dir().resolve("report.md"));
    assertTrue(report.contains("evolved path (best)"), report);
    assertTrue(report.contains("search space: data flow"), report);
  }

  @Test
  void sparkScoresPathsAndMiniBatchesAsThisJvmDoes() throws Exception {
    Preflight.CheckedRun checked =
        Preflight.check(
            settings(
                "evomerge.search.dataflow.mini-batches=2",
                "evomerge.search.dataflow.holdout=0.3",
                "evomerge.search.dataflow.head-model=2"));
    DataFlowSpec flow = checked.spec().dataFlow();
    List<CandidateSpec> candidates = new ArrayList<>();
    double[][] genomes = {flow.embeddingModelGenome(-0.5, 0.5), mixedGenome(flow, true)};
    long id = 0;
    for (double[] g : genomes) {
      for (int batch : new int[] {DataFlowSpec.HOLDOUT, 0, 1}) {
        double[] genes = Arrays.copyOf(g, g.length + 1);
        genes[g.length] = batch;
        candidates.add(new CandidateSpec(id++, genes));
      }
      candidates.add(new CandidateSpec(id++, g));
    }
    Map<Long, CandidateResult> local =
        new LocalGenerationEvaluator(checked.spec(), checked.rows()).evaluate("g", candidates);
    Map<Long, CandidateResult> distributed;
    try (SparkGenerationEvaluator evaluator =
        new SparkGenerationEvaluator(TestSpark.session(), checked.spec(), checked.rows(), 2)) {
      distributed = evaluator.evaluate("g", candidates);
    }
    long rows = 0;
    for (CandidateSpec c : candidates) {
      CandidateResult a = local.get(c.id());
      CandidateResult b = distributed.get(c.id());
      assertFalse(a.isFailed() || b.isFailed(), a.error() + " / " + b.error());
      assertEquals(a.examples(), b.examples(), "rows of " + c);
      assertEquals(
          checked.fitness().fitness(a.tasks()),
          checked.fitness().fitness(b.tasks()),
          1e-5,
          "fitness of " + c);
      rows += c.id() % 4 == 3 ? 0 : a.examples();
    }
    // held-out slice + batch 0 + batch 1 of one genome = all the dev rows, for both genomes
    assertEquals(2L * checked.rows().size(), rows);
    assertEquals(checked.rows().size(), local.get(3L).examples());
  }

  @Test
  void aParameterSpaceMergeEntersThePoolAsASource() throws Exception {
    // a PS result: the linear merge 0.6/0.3/0.1 of the toy sources, written as a run writes best/
    Preflight.CheckedRun ps = Preflight.check(ConfigLoader.load(writeConf(), List.of()));
    double[] weights = {0.6, 0.3, 0.1};
    Path merged = tmp.resolve("ps-best");
    MergedModelWriter.write(
        ps.spec(), weights, new org.apache.hadoop.fs.Path(merged.toUri()), DType.F32, null);
    double psFitness = devFitness(new LocalGenerationEvaluator(ps.spec(), ps.rows()), weights);

    String source1 = ToyFixtures.zoo().sources().get(1).toString();
    Preflight.CheckedRun dfs =
        Preflight.check(
            settings("evomerge.models.sources=[\"" + merged + "\", \"" + source1 + "\"]"));
    DataFlowSpec flow = dfs.spec().dataFlow();
    assertEquals(List.of(2, 2), flow.layers());
    LocalGenerationEvaluator paths = new LocalGenerationEvaluator(dfs.spec(), dfs.rows());
    // the merge's own path is the merge
    assertEquals(psFitness, devFitness(paths, flow.embeddingModelGenome(-0.5, 0.5)), 1e-6);
    // and a path through both the merge and another source is scored
    double[] g = flow.embeddingModelGenome(-0.5, 0.5);
    g[2] = 0.5; // source 1 (the toy source) layer 0
    assertInstanceOf(Double.class, devFitness(paths, g));
    assertNotEquals(psFitness, devFitness(paths, g), 1e-4);
  }

  private java.io.File writeConf() throws Exception {
    Path conf = tmp.resolve("ps.conf");
    Files.writeString(conf, ToyFixtures.config(tmp.resolve("runs")));
    return conf.toFile();
  }

  @Test
  void badDataFlowSettingsAreRefusedNamingTheKey() throws Exception {
    ConfigError space =
        assertThrows(ConfigError.class, () -> settings("evomerge.search.space=dataflw"));
    assertTrue(space.getMessage().contains("evomerge.search.space"), space.getMessage());
    ConfigError embedding =
        assertThrows(
            ConfigError.class, () -> settings("evomerge.search.dataflow.embedding-model=3"));
    assertTrue(
        embedding.getMessage().contains("evomerge.search.dataflow.embedding-model"),
        embedding.getMessage());
    ConfigError repeats =
        assertThrows(ConfigError.class, () -> settings("evomerge.search.dataflow.repeats=0"));
    assertTrue(repeats.getMessage().contains("repeats"), repeats.getMessage());
    RunSettings withBase =
        settings("evomerge.models.base=\"" + ToyFixtures.zoo().sources().get(0) + "\"");
    RunError base = assertThrows(RunError.class, () -> Preflight.check(withBase));
    assertTrue(base.getMessage().contains("evomerge.models.base"), base.getMessage());
    // 24 dev rows cannot fill 30 mini-batches
    RunSettings tooMany = settings("evomerge.search.dataflow.mini-batches=30");
    RunError batches = assertThrows(RunError.class, () -> Preflight.check(tooMany));
    assertTrue(
        batches.getMessage().contains("Task dev has no rows in mini-batch"), batches.getMessage());
    RunSettings badStrategy = settings("evomerge.search.options.sigma0=-1");
    RunError strategy = assertThrows(RunError.class, () -> Preflight.check(badStrategy));
    assertTrue(strategy.getMessage().contains("evomerge.search.options"), strategy.getMessage());
  }
}
