package dev.evomerge.driver.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.run.ToyFixtures;
import dev.evomerge.driver.spark.TestSpark;
import dev.evomerge.worker.io.HfModelFolder;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @BeforeAll
  static void shareSession() {
    TestSpark.session();
  }

  /** Exit code, stdout and stderr of one command. */
  record Outcome(int code, String out, String err) {}

  static Outcome run(File config, List<String> sets) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        RunCommand.execute(
            config,
            sets,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Outcome(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private File config(Path runs) throws Exception {
    Path file = tmp.resolve("run.conf");
    Files.writeString(file, ToyFixtures.config(runs));
    return file.toFile();
  }

  @Test
  void runWritesHistoryGenerationsAndTheBestModel() throws Exception {
    Path runs = tmp.resolve("runs");
    Outcome o = run(config(runs), List.of("evomerge.run.generations=3"));
    assertEquals(0, o.code(), o.err());
    try (Stream<Path> dirs = Files.list(runs)) {
      Path dir = dirs.findFirst().orElseThrow();
      assertTrue(dir.getFileName().toString().startsWith("test-"));
      assertEquals(
          "completed", JSON.readTree(dir.resolve("status.json").toFile()).get("state").asText());

      List<String> history = Files.readAllLines(dir.resolve("history.jsonl"));
      assertEquals(3 * 4, history.size());
      List<String> generations = Files.readAllLines(dir.resolve("generations.jsonl"));
      assertEquals(3, generations.size());

      double bestInHistory = Double.NEGATIVE_INFINITY;
      for (String line : history) {
        JsonNode h = JSON.readTree(line);
        assertEquals(3, h.get("genome").size());
        assertTrue(h.get("fitness").asDouble() < 0, line);
        assertTrue(h.get("duration_ms").asDouble() > 0, line);
        assertTrue(h.get("recipe_hash").asText().matches("[0-9a-f]{12}"), line);
        assertTrue(h.get("devices").asText().matches("(executor driver: cpu(; )?)+"), line);
        bestInHistory = Math.max(bestInHistory, h.get("fitness").asDouble());
      }
      JsonNode best = JSON.readTree(dir.resolve("best.json").toFile());
      assertEquals(bestInHistory, best.get("fitness").asDouble(), 0);
      double bestSoFar = JSON.readTree(generations.get(2)).get("best_so_far").asDouble();
      assertEquals(bestInHistory, bestSoFar, 0);

      HfModelFolder model = HfModelFolder.open(dir.resolve("best").toString(), new Configuration());
      assertEquals(
          HfModelFolder.open(ToyFixtures.zoo().sources().get(0).toString(), new Configuration())
              .tensors()
              .keySet(),
          model.tensors().keySet());
      assertTrue(Files.exists(dir.resolve("best/tokenizer.json")));
      assertTrue(Files.exists(dir.resolve("checkpoint/search.json")));
      assertTrue(o.out().contains("generation 3/3  best "), o.out());
    }
  }

  @Test
  void dareTiesSearchOverWeightsAndDensitiesExportsAMergekitRecipe() throws Exception {
    Path runs = tmp.resolve("runs");
    List<Path> zoo = ToyFixtures.zoo().sources();
    Outcome o =
        run(
            config(runs),
            List.of(
                "evomerge.merge.method=dare_ties",
                "evomerge.models.base=\"" + zoo.get(0) + "\"",
                "evomerge.models.sources=[\"" + zoo.get(1) + "\", \"" + zoo.get(2) + "\"]",
                "evomerge.merge.genes=[weight, density]",
                "evomerge.search.strategy=cmaes"));
    assertEquals(0, o.code(), o.err());
    try (Stream<Path> dirs = Files.list(runs)) {
      Path dir = dirs.findFirst().orElseThrow();
      for (String line : Files.readAllLines(dir.resolve("history.jsonl"))) {
        JsonNode genome = JSON.readTree(line).get("genome");
        assertEquals(4, genome.size(), line);
        assertTrue(genome.get(1).asDouble() >= 0.01 && genome.get(1).asDouble() <= 1, line);
      }
      dev.evomerge.worker.merge.MergeRecipe recipe =
          dev.evomerge.worker.merge.RecipeYaml.parse(
              Files.readString(dir.resolve("best/recipe.yaml")));
      assertEquals("dare_ties", recipe.mergeMethod());
      assertEquals(3L, recipe.randomSeed());
      assertEquals(2, recipe.models().size());
      assertTrue(recipe.baseModel().contains("source-0"));
      assertTrue(recipe.models().get(0).parameters().containsKey("density"));
    }
  }

  @Test
  void methodNeedingABaseWithoutOneIsRejectedBeforeSparkWork() throws Exception {
    Path runs = tmp.resolve("runs");
    Outcome o = run(config(runs), List.of("evomerge.merge.method=ties"));
    assertEquals(2, o.code());
    assertTrue(o.err().contains("evomerge.models.base"), o.err());
    Outcome typo = run(config(runs), List.of("evomerge.merge.method=dare_tie"));
    assertEquals(2, typo.code());
    assertTrue(typo.err().contains("did you mean 'dare_ties'"), typo.err());
    assertFalse(Files.exists(runs));
  }

  @Test
  void fitnessIsTheWeightedMeanOfEveryTasksMetric() throws Exception {
    // a multiple-choice task from the dev text: which continuation follows the context?
    List<String> texts = new java.util.ArrayList<>();
    for (String line : Files.readAllLines(ToyFixtures.zoo().devSet())) {
      texts.add(JSON.readTree(line).get("text").asText());
    }
    StringBuilder mc = new StringBuilder();
    for (int i = 0; i < texts.size(); i++) {
      String t = texts.get(i);
      String other = texts.get((i + 1) % texts.size());
      com.fasterxml.jackson.databind.node.ObjectNode row =
          JSON.createObjectNode().put("context", t.substring(0, 16)).put("answer", 0);
      row.putArray("choices").add(t.substring(16)).add(other.substring(16));
      mc.append(row.toString()).append('\n');
    }
    Path mcFile = tmp.resolve("mc.jsonl");
    Files.writeString(mcFile, mc);
    Path runs = tmp.resolve("runs");
    Outcome o =
        run(
            config(runs),
            List.of(
                "evomerge.eval.tasks=[{name = mc, data = \""
                    + mcFile
                    + "\", kind = multiple_choice, metric = acc, weight = 3}]"));
    assertEquals(0, o.code(), o.err());
    try (Stream<Path> dirs = Files.list(runs)) {
      Path dir = dirs.findFirst().orElseThrow();
      for (String line : Files.readAllLines(dir.resolve("history.jsonl"))) {
        JsonNode h = JSON.readTree(line);
        double loglik = h.get("tasks").get("dev").asDouble();
        double acc = h.get("tasks").get("mc").asDouble();
        assertTrue(acc >= 0 && acc <= 1, line);
        assertEquals((1 * loglik + 3 * acc) / 4, h.get("fitness").asDouble(), 1e-12, line);
        assertEquals(2 * 24L, h.get("examples").asLong(), line);
      }
      // per-row results came back from the executors (Kryo, registration required) and add up
      // to the metrics above
      Map<String, Double> fromRows = new java.util.HashMap<>();
      for (String line : Files.readAllLines(dir.resolve("examples.jsonl"))) {
        JsonNode e = JSON.readTree(line);
        boolean choice = e.get("task").asText().equals("mc");
        double sum = 0;
        double count = 0;
        for (int i = 0; i < e.get("rows").size(); i++) {
          sum += choice ? e.get("correct").get(i).asInt() : e.get("score").get(i).asDouble();
          count += choice ? 1 : e.get("tokens").get(i).asLong();
        }
        assertEquals(24, e.get("rows").size(), line);
        fromRows.put(e.get("candidate").asLong() + "/" + e.get("task").asText(), sum / count);
      }
      for (String line : Files.readAllLines(dir.resolve("history.jsonl"))) {
        JsonNode h = JSON.readTree(line);
        for (String task : List.of("dev", "mc")) {
          assertEquals(
              h.get("tasks").get(task).asDouble(),
              fromRows.get(h.get("candidate").asLong() + "/" + task),
              1e-9,
              task + " of " + line);
        }
      }
    }
  }

  @Test
  void heldOutTableComparesTheBestWithSourcesAndMatchesTheWrittenCheckpoint() throws Exception {
    Path runs = tmp.resolve("runs");
    Path test = ToyFixtures.zoo().testSet();
    Outcome o = run(config(runs), List.of("evomerge.eval.test-set=\"" + test + "\""));
    assertEquals(0, o.code(), o.err());
    assertTrue(o.out().contains("held-out evaluation"), o.out());
    try (Stream<Path> dirs = Files.list(runs)) {
      Path dir = dirs.findFirst().orElseThrow();
      JsonNode models = JSON.readTree(dir.resolve("test-evaluation.json").toFile()).get("models");
      assertEquals(2 + ToyFixtures.zoo().sources().size(), models.size());
      assertEquals("evolved merge (best)", models.get(0).get("model").asText());
      assertEquals("uniform average", models.get(1).get("model").asText());
      assertTrue(models.get(2).get("model").asText().contains("source-0"));
      assertTrue(Files.readString(dir.resolve("report.md")).contains("| uniform average |"));
      // the evolved merge's held-out score is the written checkpoint's, scored independently
      Path tasks = tmp.resolve("test-task.conf");
      Files.writeString(
          tasks, "tasks = [{ name = test, data = \"" + test + "\", kind = loglik }]\n");
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      int code =
          dev.evomerge.driver.score.ScoreCommand.run(
              new String[] {
                "--model", dir.resolve("best").toString(), "--task", tasks.toString(), "--json"
              },
              new PrintStream(out, true, StandardCharsets.UTF_8),
              new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
      assertEquals(0, code);
      double scored = JSON.readTree(out.toString(StandardCharsets.UTF_8)).get("fitness").asDouble();
      assertEquals(scored, models.get(0).get("fitness").asDouble(), 1e-5);
    }
  }

  @Test
  void missingModelPathIsOneClearErrorAndNoRunFolder() throws Exception {
    Path runs = tmp.resolve("runs");
    Path missing = tmp.resolve("no-such-model");
    Outcome o =
        run(
            config(runs),
            List.of(
                "evomerge.models.sources=[\""
                    + missing
                    + "\", \""
                    + ToyFixtures.zoo().sources().get(0)
                    + "\"]"));
    assertEquals(2, o.code());
    assertTrue(o.err().contains(missing.toString()), o.err());
    assertTrue(o.err().contains("does not exist"), o.err());
    assertEquals(1, o.err().strip().lines().count(), o.err());
    assertFalse(Files.exists(runs), "no run folder may be left behind");
  }

  @Test
  void misspelledKeyNamesTheKeyTheFileAndTheNearestKey() throws Exception {
    Path runs = tmp.resolve("runs");
    Path file = tmp.resolve("typo.conf");
    Files.writeString(file, ToyFixtures.config(runs) + "\nevomerge.search.uper = 0.3\n");
    Outcome o = run(file.toFile(), List.of());
    assertEquals(2, o.code());
    assertTrue(o.err().contains("evomerge.search.uper"), o.err());
    assertTrue(o.err().contains("typo.conf"), o.err());
    assertTrue(o.err().contains("did you mean 'evomerge.search.upper'"), o.err());
    assertEquals(1, o.err().strip().lines().count(), o.err());
    assertFalse(Files.exists(runs));
  }

  @Test
  void nonNumericValueNamesTheKey() throws Exception {
    Path runs = tmp.resolve("runs");
    Outcome o = run(config(runs), List.of("evomerge.search.max-evaluations=lots"));
    assertEquals(2, o.code());
    assertTrue(o.err().contains("evomerge.search.max-evaluations"), o.err());
    assertTrue(o.err().contains("--set"), o.err());
    assertEquals(1, o.err().strip().lines().count(), o.err());
    assertFalse(Files.exists(runs));
  }

  @Test
  void misspelledStrategyOptionIsRejectedBeforeAnyRunFolder() throws Exception {
    Path runs = tmp.resolve("runs");
    Outcome o =
        run(
            config(runs),
            List.of("evomerge.search.strategy=cmaes", "evomerge.search.options.sigma00=0.2"));
    assertEquals(2, o.code());
    assertTrue(o.err().contains("evomerge.search.options"), o.err());
    assertTrue(o.err().contains("sigma00") && o.err().contains("sigma0"), o.err());
    assertFalse(Files.exists(runs));
  }

  @Test
  void devSetWithoutTheTextFieldIsRejectedBeforeAnyRunFolder() throws Exception {
    Path runs = tmp.resolve("runs");
    Path dev = tmp.resolve("dev.jsonl");
    Files.writeString(dev, "{\"prompt\": \"abc\"}\n");
    Outcome o = run(config(runs), List.of("evomerge.eval.dev-set=\"" + dev + "\""));
    assertEquals(2, o.code());
    assertTrue(o.err().contains(dev.toString()) && o.err().contains("field text"), o.err());
    assertTrue(o.err().contains("Task dev"), o.err());
    assertFalse(Files.exists(runs));
  }

  @Test
  void modelsWithDifferentShapesNameTheTensorAndBothModels() throws Exception {
    Path runs = tmp.resolve("runs");
    Path odd = tmp.resolve("odd-model");
    dev.evomerge.worker.io.HfModelWriter.write(
        new org.apache.hadoop.fs.Path(odd.toUri()),
        new Configuration(),
        HfModelFolder.open(ToyFixtures.zoo().sources().get(0).toString(), new Configuration())
            .config(),
        java.util.Map.of(
            "model.embed_tokens.weight",
            new dev.evomerge.worker.io.FloatTensor(new long[] {2, 2}, new float[4])),
        dev.evomerge.worker.io.DType.F32,
        List.of());
    Outcome o =
        run(
            config(runs),
            List.of(
                "evomerge.models.sources=[\""
                    + ToyFixtures.zoo().sources().get(0)
                    + "\", \""
                    + odd
                    + "\"]"));
    assertEquals(2, o.code());
    assertTrue(o.err().contains("model.embed_tokens.weight"), o.err());
    assertTrue(o.err().contains("odd-model"), o.err());
    assertTrue(o.err().contains("source-0"), o.err());
    assertFalse(Files.exists(runs));
  }
}
