package dev.evomerge.driver.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.MergedModelWriter;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.SafetensorsFile;
import dev.evomerge.worker.io.TensorInfo;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerationLoopTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @Test
  void aFailingCandidateIsPenalisedRecordedAndTheRunCompletes() throws Exception {
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, ToyFixtures.config(tmp.resolve("runs")));
    RunSettings settings = ConfigLoader.load(conf.toFile(), List.of());
    Preflight.CheckedRun checked = Preflight.check(settings);
    LocalGenerationEvaluator local = new LocalGenerationEvaluator(checked.spec(), checked.rows());
    // the real evaluation path, with candidate 1 given NaN weights: materialisation succeeds,
    // the forward pass yields NaN, and the evaluator reports it as a failure
    GenerationEvaluator poisoned =
        (description, candidates) -> {
          List<CandidateSpec> changed = new ArrayList<>();
          for (CandidateSpec c : candidates) {
            changed.add(c.id() == 1 ? new CandidateSpec(1, new double[] {Double.NaN, 1, 1}) : c);
          }
          return local.evaluate(description, changed);
        };
    RunFolder folder = RunFolder.create(settings.outputRoot(), "failing", "");
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    GenerationLoop.Result result =
        new GenerationLoop(
                settings,
                checked,
                poisoned,
                folder,
                new PrintStream(console, true, StandardCharsets.UTF_8))
            .execute();

    List<String> history = Files.readAllLines(folder.dir().resolve("history.jsonl"));
    JsonNode failed = JSON.readTree(history.get(1));
    assertEquals(1, failed.get("candidate").asLong());
    assertTrue(failed.get("fitness").isNull());
    assertTrue(failed.get("error").asText().contains("non-finite"), failed.toString());
    for (String line : history) {
      if (JSON.readTree(line).get("candidate").asLong() != 1) {
        assertTrue(JSON.readTree(line).get("fitness").isNumber(), line);
      }
    }
    assertEquals(
        1,
        JSON.readTree(Files.readAllLines(folder.dir().resolve("generations.jsonl")).get(0))
            .get("failed")
            .asInt());
    assertEquals(
        "completed",
        JSON.readTree(folder.dir().resolve("status.json").toFile()).get("state").asText());
    assertTrue(Double.isFinite(result.best().fitness()));
    assertTrue(console.toString(StandardCharsets.UTF_8).contains("1 failed"));
    assertTrue(Files.exists(folder.dir().resolve("best/model.safetensors")));
    Map<Long, CandidateResult> check =
        local.evaluate("check", List.of(new CandidateSpec(9, result.best().genome().genes())));
    assertEquals(
        result.best().fitness(), check.get(9L).tasks().get("dev").metric("mean_loglik"), 1e-9);
  }

  @Test
  void theBestModelIsWrittenWithTheConfiguredShardSize() throws Exception {
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, ToyFixtures.config(tmp.resolve("runs")));
    long max = 6000;
    RunSettings settings =
        ConfigLoader.load(
            conf.toFile(),
            List.of("evomerge.run.generations=1", "evomerge.merge.max-shard-size=6KB"));
    assertEquals(max, settings.maxShardBytes());
    Preflight.CheckedRun checked = Preflight.check(settings);
    LocalGenerationEvaluator local = new LocalGenerationEvaluator(checked.spec(), checked.rows());
    RunFolder folder = RunFolder.create(settings.outputRoot(), "sharded", "");
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    GenerationLoop.Result result =
        new GenerationLoop(settings, checked, local, folder, quiet).execute();

    Path best = folder.dir().resolve("best");
    assertTrue(Files.exists(best.resolve(HfModelFolder.INDEX)));
    assertFalse(Files.exists(best.resolve(HfModelFolder.WEIGHTS)));
    HfModelFolder written = HfModelFolder.open(best.toString(), new Configuration());
    assertTrue(written.shards().size() > 2, "shards: " + written.shards().size());
    for (SafetensorsFile shard : written.shards()) {
      long data = shard.tensors().values().stream().mapToLong(TensorInfo::byteSize).sum();
      assertTrue(
          data <= max || shard.tensors().size() == 1,
          shard.path() + " holds " + data + " bytes in " + shard.tensors().size() + " tensors");
    }
    // the same merge as with one shard
    Path whole = tmp.resolve("whole");
    MergedModelWriter.write(
        checked.spec(),
        result.best().genome().genes(),
        new org.apache.hadoop.fs.Path(whole.toUri()),
        DType.F32,
        null);
    assertTrue(Files.exists(whole.resolve(HfModelFolder.WEIGHTS)));
    assertEquals(
        HfModelFolder.open(whole.toString(), new Configuration()).readAllFloat(),
        written.readAllFloat());
  }

  private static List<String> fitnessColumn(Path dir) throws Exception {
    List<String> out = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("history.jsonl"))) {
      JsonNode h = JSON.readTree(line);
      out.add(h.get("candidate") + " " + h.get("genome") + " " + h.get("fitness"));
    }
    return out;
  }

  @Test
  void aRunResumedAfterDriverLossReachesTheSameBestAsAnUninterruptedOne() throws Exception {
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, ToyFixtures.config(tmp.resolve("runs")));
    RunSettings settings =
        ConfigLoader.load(
            conf.toFile(), List.of("evomerge.search.strategy=cmaes", "evomerge.run.generations=4"));
    Preflight.CheckedRun checked = Preflight.check(settings);
    LocalGenerationEvaluator local = new LocalGenerationEvaluator(checked.spec(), checked.rows());
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

    RunFolder whole = RunFolder.create(settings.outputRoot(), "whole", "");
    GenerationLoop.Result uninterrupted =
        new GenerationLoop(settings, checked, local, whole, quiet).execute();

    // the driver dies while generation 3 is being evaluated (its history lines are written,
    // its checkpoint is not)
    int[] calls = {0};
    GenerationEvaluator dying =
        (description, candidates) -> {
          if (++calls[0] == 3) {
            throw new IllegalStateException("driver lost");
          }
          return local.evaluate(description, candidates);
        };
    RunFolder broken = RunFolder.create(settings.outputRoot(), "broken", "");
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalStateException.class,
        () -> new GenerationLoop(settings, checked, dying, broken, quiet).execute());
    assertEquals(
        "failed",
        JSON.readTree(broken.dir().resolve("status.json").toFile()).get("state").asText());

    dev.evomerge.driver.search.SearchRun restored =
        dev.evomerge.driver.search.SearchRun.restore(
            Files.readString(broken.dir().resolve("checkpoint/search.json")));
    assertEquals(2, restored.generations());
    RunFolder reopened = RunFolder.reopen(broken.dir(), restored.generations());
    GenerationLoop.Result resumed =
        new GenerationLoop(settings, checked, local, reopened, quiet, restored).execute();

    assertEquals(uninterrupted.best().genome(), resumed.best().genome());
    assertEquals(uninterrupted.best().fitness(), resumed.best().fitness(), 0);
    assertEquals(fitnessColumn(whole.dir()), fitnessColumn(broken.dir()));
    assertEquals(
        Files.readAllLines(whole.dir().resolve("examples.jsonl")),
        Files.readAllLines(broken.dir().resolve("examples.jsonl")),
        "per-row results of the resumed run, each generation once");
    assertEquals(4, Files.readAllLines(broken.dir().resolve("generations.jsonl")).size());
    assertEquals(
        "completed",
        JSON.readTree(broken.dir().resolve("status.json").toFile()).get("state").asText());
  }

  /**
   * With layer groups and filters a cell's genes (all sources and genes of one layer group and
   * filter) are one crossover block, so the GA's uniform crossover hands a child each layer group's
   * merge whole from one parent; without them every gene is its own block.
   */
  @Test
  void gaCrossoverInheritsALayerGroupsGenesTogether() throws Exception {
    Path conf = tmp.resolve("blocks.conf");
    Files.writeString(conf, ToyFixtures.config(tmp.resolve("runs")));
    RunSettings global = ConfigLoader.load(conf.toFile(), List.of());
    dev.evomerge.driver.search.Bounds plain = GenerationLoop.bounds(global);
    for (int k = 0; k < plain.dimension(); k++) {
      assertEquals(k, plain.block(k));
    }
    RunSettings grouped =
        ConfigLoader.load(
            conf.toFile(),
            List.of("evomerge.merge.layer-groups=2", "evomerge.merge.filters=[\"mlp\"]"));
    int cells = 4;
    dev.evomerge.driver.search.Bounds bounds = GenerationLoop.bounds(grouped);
    assertEquals(grouped.sources().size() * grouped.genes().size() * cells, bounds.dimension());
    for (int k = 0; k < bounds.dimension(); k++) {
      assertEquals(k % cells, bounds.block(k), "gene " + k);
    }
    dev.evomerge.driver.search.SearchStrategy ga =
        dev.evomerge.driver.search.Strategies.create(
            "ga",
            Map.of("populationSize", 8, "elite", 0, "crossoverRate", 1.0, "mutationRate", 0.0),
            bounds,
            List.of(),
            11);
    List<dev.evomerge.driver.search.Genome> parents = ga.ask();
    double[] fitness = new double[parents.size()];
    java.util.Arrays.setAll(fitness, i -> i);
    ga.tell(parents, fitness);
    boolean mixed = false;
    for (dev.evomerge.driver.search.Genome child : ga.ask()) {
      java.util.Set<Integer> sourcesOfChild = new java.util.HashSet<>();
      for (int c = 0; c < cells; c++) {
        int from = -1;
        for (int p = 0; p < parents.size() && from < 0; p++) {
          boolean whole = true;
          for (int k = c; k < bounds.dimension(); k += cells) {
            whole &= child.gene(k) == parents.get(p).gene(k);
          }
          from = whole ? p : -1;
        }
        assertTrue(from >= 0, "cell " + c + " of " + child + " is not one parent's");
        sourcesOfChild.add(from);
      }
      mixed |= sourcesOfChild.size() > 1;
    }
    assertTrue(mixed, "no child took its cells from more than one parent");
  }
}
