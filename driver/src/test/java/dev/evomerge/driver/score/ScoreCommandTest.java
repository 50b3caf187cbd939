package dev.evomerge.driver.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.toy.ToyZoo;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.LlamaModel;
import dev.evomerge.worker.model.ModelWeights;
import dev.evomerge.worker.score.LogLikelihoodScorer;
import dev.evomerge.worker.score.ScorePartial;
import dev.evomerge.worker.score.TextTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoreCommandTest {
  @TempDir static Path dir;
  static ToyZoo.Zoo zoo;
  static Path tasks;

  @BeforeAll
  static void zoo() throws Exception {
    zoo = ToyZoo.create(dir.resolve("zoo"), 3, new double[] {0.6, 0.4}, 4, 12);
    Files.writeString(
        dir.resolve("mc.jsonl"),
        "{\"context\": \"the cat\", \"choices\": [\"sat\", \"ran away\"], \"answer\": 0}\n"
            + "{\"context\": \"a b\", \"choices\": [\"c\", \"d\", \"e\"], \"answer\": 2}\n");
    tasks = dir.resolve("tasks.conf");
    Files.writeString(
        tasks,
        """
        tasks = [
          { name = lm, data = "%s", kind = loglik, metric = perplexity, direction = lower }
          { name = mc, data = mc.jsonl, kind = multiple_choice, metric = acc_norm, weight = 3 }
        ]
        """
            .formatted(zoo.devSet().toAbsolutePath()));
  }

  static String[] run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        ScoreCommand.run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new String[] {
      String.valueOf(code),
      out.toString(StandardCharsets.UTF_8),
      err.toString(StandardCharsets.UTF_8)
    };
  }

  @Test
  void jsonReportsEveryTaskAndRowAndAgreesWithTheLogLikelihoodScorer() throws Exception {
    String model = zoo.sources().get(0).toUri().toString();
    String[] r = run("--model", model, "--task", tasks.toString(), "--json", "--batch-size", "3");
    assertEquals("0", r[0], r[2]);
    JsonNode root = new ObjectMapper().readTree(r[1]);
    JsonNode lm = root.get("tasks").get(0);
    JsonNode mc = root.get("tasks").get(1);
    assertEquals(4, lm.get("rows").size());
    assertEquals(2, mc.get("rows").size());
    double mean = lm.get("metrics").get("mean_loglik").asDouble();
    assertEquals(Math.exp(-mean), lm.get("metrics").get("perplexity").asDouble(), 1e-9);
    double acc = mc.get("metrics").get("acc_norm").asDouble();
    // per-row scores add up to the task metrics
    double sum = 0;
    long tokens = 0;
    for (JsonNode row : lm.get("rows")) {
      sum += row.get("score").asDouble();
      tokens += row.get("tokens").asLong();
    }
    assertEquals(mean, sum / tokens, 1e-9);
    double rightNorm = 0;
    for (JsonNode row : mc.get("rows")) {
      rightNorm += row.get("correct_norm").asBoolean() ? 1 : 0;
    }
    assertEquals(acc, rightNorm / 2, 1e-12);
    assertEquals(
        (-lm.get("metrics").get("perplexity").asDouble() + 3 * acc) / 4,
        root.get("fitness").asDouble(),
        1e-9);

    // the same rows through the skeleton's scorer (BOS + text, every token after BOS scored)
    Configuration conf = new Configuration();
    HfModelFolder folder = HfModelFolder.open(model, conf);
    LlamaConfig config = ModelWeights.config(folder);
    List<long[]> seqs = new ArrayList<>();
    ScorePartial expected;
    try (NDManager m = NDManager.newBaseManager(Device.cpu());
        TextTokenizer tok = TextTokenizer.load(folder.folder(), conf, config)) {
      for (String line : Files.readAllLines(zoo.devSet())) {
        seqs.add(tok.encodeWithBos(new ObjectMapper().readTree(line).get("text").asText(), 2048));
      }
      LlamaModel lmModel = new LlamaModel(config, ModelWeights.load(folder, config, m));
      expected = LogLikelihoodScorer.score(lmModel, m, seqs, 1);
    }
    assertEquals(expected.meanLogLik(), mean, 1e-5);
  }

  @Test
  void textOutputNamesTasksAndBadInputExitsWithTwo() {
    String model = zoo.sources().get(1).toString();
    String[] ok = run("--model", model, "--task", tasks.toString());
    assertEquals("0", ok[0], ok[2]);
    assertTrue(
        ok[1].contains("lm") && ok[1].contains("perplexity=") && ok[1].contains("fitness"), ok[1]);
    assertEquals("0", run("--help")[0]);
    assertEquals("2", run("--model", model)[0]);
    String[] missing = run("--model", model, "--task", dir.resolve("nope.conf").toString());
    assertEquals("2", missing[0]);
    assertTrue(missing[2].contains("nope.conf"), missing[2]);
    String[] badModel =
        run("--model", dir.resolve("no-model").toString(), "--task", tasks.toString());
    assertEquals("1", badModel[0]);
    assertTrue(badModel[2].contains("no-model"), badModel[2]);
  }
}
