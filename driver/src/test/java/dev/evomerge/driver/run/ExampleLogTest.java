package dev.evomerge.driver.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.score.ExampleScores;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExampleLogTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  /** A multiple-choice task from the toy dev text: which continuation follows the context? */
  private Path choiceTask() throws Exception {
    List<String> texts = new ArrayList<>();
    for (String line : Files.readAllLines(ToyFixtures.zoo().devSet())) {
      texts.add(JSON.readTree(line).get("text").asText());
    }
    StringBuilder mc = new StringBuilder();
    for (int i = 0; i < 12; i++) {
      String t = texts.get(i);
      String other = texts.get((i + 1) % texts.size());
      ObjectNode row = JSON.createObjectNode().put("context", t.substring(0, 16));
      row.put("answer", i % 2);
      row.putArray("choices")
          .add(i % 2 == 0 ? t.substring(16) : other.substring(16))
          .add(i % 2 == 0 ? other.substring(16) : t.substring(16));
      mc.append(row).append('\n');
    }
    Path file = tmp.resolve("mc.jsonl");
    Files.writeString(file, mc);
    return file;
  }

  private RunSettings settings(String... sets) throws Exception {
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, ToyFixtures.config(tmp.resolve("runs")));
    List<String> all = new ArrayList<>(List.of(sets));
    all.add(
        "evomerge.eval.tasks=[{name = mc, data = \""
            + choiceTask()
            + "\", kind = multiple_choice, metric = acc_norm, weight = 2}]");
    return ConfigLoader.load(conf.toFile(), all);
  }

  @Test
  void perRowResultsAddUpToTheTaskMetricsOfTheHistory() throws Exception {
    RunSettings settings = settings("evomerge.eval.batch-size=auto");
    assertEquals(0, settings.eval().batchSize());
    Preflight.CheckedRun checked = Preflight.check(settings);
    RunFolder folder = RunFolder.create(settings.outputRoot(), "examples", "");
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    new GenerationLoop(
            settings,
            checked,
            new LocalGenerationEvaluator(checked.spec(), checked.rows()),
            folder,
            quiet)
        .execute();

    Map<String, JsonNode> lines = new HashMap<>();
    for (String line : Files.readAllLines(folder.dir().resolve("examples.jsonl"))) {
      JsonNode n = JSON.readTree(line);
      lines.put(n.get("candidate").asLong() + "/" + n.get("task").asText(), n);
    }
    List<String> history = Files.readAllLines(folder.dir().resolve("history.jsonl"));
    assertEquals(2 * history.size(), lines.size(), "one line per candidate and task");
    for (String line : history) {
      JsonNode h = JSON.readTree(line);
      long id = h.get("candidate").asLong();
      // the executor chose the batch size from free memory and said which
      assertTrue(h.get("batch_size").asInt() >= 1, line);
      JsonNode dev = lines.get(id + "/dev");
      assertEquals(h.get("generation").asInt(), dev.get("generation").asInt());
      assertEquals("loglik", dev.get("kind").asText());
      assertEquals(24, dev.get("rows").size());
      for (int i = 1; i < 24; i++) {
        assertTrue(dev.get("rows").get(i).asLong() > dev.get("rows").get(i - 1).asLong());
      }
      double sum = 0;
      long tokens = 0;
      for (int i = 0; i < 24; i++) {
        sum += dev.get("score").get(i).asDouble();
        tokens += dev.get("tokens").get(i).asLong();
      }
      assertEquals(h.get("tokens").asLong(), tokens, line);
      assertEquals(h.get("tasks").get("dev").asDouble(), sum / tokens, 1e-9, line);
      JsonNode mc = lines.get(id + "/mc");
      assertEquals(12, mc.get("rows").size());
      double right = 0;
      for (int i = 0; i < 12; i++) {
        right += mc.get("correct_norm").get(i).asInt();
        assertEquals(i % 2, mc.get("gold").get(i).asInt(), "gold answer of row " + i);
        assertEquals(
            mc.get("correct").get(i).asInt() == 1,
            mc.get("predicted").get(i).asInt() == mc.get("gold").get(i).asInt());
      }
      assertEquals(h.get("tasks").get("mc").asDouble(), right / 12, 1e-12, line);
    }
  }

  @Test
  void resultsDoNotDependOnTheBatchSizeAndRecordingCanBeTurnedOff() throws Exception {
    RunSettings settings = settings("evomerge.run.record-examples=false");
    Preflight.CheckedRun checked = Preflight.check(settings);
    assertFalse(checked.spec().recordExamples());
    List<CandidateSpec> candidates =
        List.of(
            new CandidateSpec(0, new double[] {0.6, 0.3, 0.1}),
            new CandidateSpec(1, new double[] {0.1, 0.2, 0.9}));
    Map<Integer, Map<Long, CandidateResult>> byBatch = new HashMap<>();
    for (int batch : new int[] {1, 5, 0}) {
      EvalSpec spec = withBatchSize(checked.spec(), batch);
      byBatch.put(
          batch, new LocalGenerationEvaluator(spec, checked.rows()).evaluate("", candidates));
    }
    for (CandidateSpec c : candidates) {
      CandidateResult one = byBatch.get(1).get(c.id());
      assertTrue(one.exampleScores().isEmpty(), "nothing recorded, nothing sent");
      assertEquals("1", one.batchSizes());
      assertEquals("5", byBatch.get(5).get(c.id()).batchSizes());
      for (int batch : new int[] {5, 0}) {
        CandidateResult other = byBatch.get(batch).get(c.id());
        for (String task : List.of("dev", "mc")) {
          assertEquals(one.tasks().get(task).tokens(), other.tasks().get(task).tokens());
          assertEquals(one.tasks().get(task).correct(), other.tasks().get(task).correct());
          assertEquals(one.tasks().get(task).correctNorm(), other.tasks().get(task).correctNorm());
          assertEquals(
              one.tasks().get(task).sumLogLik(),
              other.tasks().get(task).sumLogLik(),
              1e-6 * Math.abs(one.tasks().get(task).sumLogLik()),
              task + " of " + c + " at batch " + other.batchSizes());
        }
      }
    }

    RunFolder folder = RunFolder.create(settings.outputRoot(), "quiet", "");
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    new GenerationLoop(
            settings,
            checked,
            new LocalGenerationEvaluator(checked.spec(), checked.rows()),
            folder,
            quiet)
        .execute();
    assertFalse(Files.exists(folder.dir().resolve("examples.jsonl")));
  }

  @Test
  void aResumedRunDropsTheLinesOfTheGenerationItEvaluatesAgain() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("run"));
    Files.writeString(
        dir.resolve(ExampleLog.FILE),
        "{\"generation\":0,\"candidate\":0}\n{\"generation\":1,\"candidate\":4}\n");
    ExampleLog log =
        new ExampleLog(
            RunFiles.at(dir.toString(), new org.apache.hadoop.conf.Configuration()),
            1,
            List.of(
                dev.evomerge.worker.score.TaskSpec.of(
                    "dev", "", dev.evomerge.worker.score.TaskKind.LOGLIK, 1)));
    ExampleScores rows =
        new ExampleScores(
            "dev",
            new long[] {3, 1},
            new double[] {-2, -1},
            new long[] {4, 2},
            new boolean[] {true, true},
            new boolean[2],
            new int[] {-1, -1},
            new int[] {-1, -1});
    CandidateResult ok = new CandidateResult(Map.of(), 1, null, "cpu", Map.of("dev", rows), "8");
    log.append(
        1,
        List.of(new CandidateSpec(4, new double[3]), new CandidateSpec(5, new double[3])),
        Map.of(4L, ok, 5L, CandidateResult.failed("boom", 1, "cpu")));
    List<String> lines = Files.readAllLines(dir.resolve(ExampleLog.FILE));
    assertEquals(2, lines.size(), String.join("\n", lines));
    assertEquals(0, JSON.readTree(lines.get(0)).get("generation").asInt());
    JsonNode line = JSON.readTree(lines.get(1));
    assertEquals(4, line.get("candidate").asLong());
    assertEquals("[1,3]", line.get("rows").toString(), "rows ordered by index");
    assertEquals("[-1.0,-2.0]", line.get("score").toString());
    assertEquals("[2,4]", line.get("tokens").toString());
  }

  static EvalSpec withBatchSize(EvalSpec s, int batch) {
    return s.toBuilder().batchSize(batch).build();
  }
}
