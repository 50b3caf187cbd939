package dev.evomerge.driver.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.spark.TestSpark;
import dev.evomerge.driver.zoo.ZooSettings;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {
  static {
    // one PyTorch thread, as the demo trains: on a shared CPU OpenMP's spinning threads cost 10x
    System.setProperty(
        "ai.djl.pytorch.num_threads", System.getProperty("ai.djl.pytorch.num_threads", "1"));
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path home;

  @BeforeAll
  static void shareSession() {
    TestSpark.session();
  }

  @Test
  void theMainJobRunsEndToEndOnATinyZoo() throws Exception {
    Files.createDirectories(home.resolve("conf"));
    Files.copy(Path.of("../conf/demo.conf"), home.resolve("conf/demo.conf"));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc =
        DemoCommand.demo(
            home,
            ZooSettings.tiny(),
            DemoCommand.STRATEGIES,
            List.of("evomerge.run.generations=1", "evomerge.search.options={populationSize=6}"),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    String stdout = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, rc, err.toString(StandardCharsets.UTF_8) + stdout);
    assertTrue(stdout.contains("training the zoo into"), stdout);
    assertTrue(stdout.contains("Spark UI:"), stdout);
    for (String s : DemoCommand.STRATEGIES) {
      assertTrue(stdout.contains("== evolutionary search: " + s + " =="), stdout);
    }

    Path demo;
    try (Stream<Path> runs = Files.list(home.resolve("runs"))) {
      demo = runs.findFirst().orElseThrow();
    }
    JsonNode results = JSON.readTree(demo.resolve("results.json").toFile());
    List<String> models = new ArrayList<>();
    results.forEach(r -> models.add(r.get("model").asText()));
    assertEquals(
        List.of(
            "source: math",
            "source: language",
            "source: recipes",
            "source: matches",
            "uniform average (linear)",
            "task arithmetic (untuned)",
            "TIES (untuned)",
            "DARE-TIES (untuned)",
            "Fisher (untuned)",
            "RegMean (untuned)",
            "evolved dare_ties, cmaes",
            "evolved dare_ties, de",
            "evolved dare_ties, ga",
            "Evolver",
            "Evolver+RegMean"),
        models);
    for (JsonNode r : results) {
      assertTrue(!r.has("error"), r + "\n" + stdout);
      JsonNode tasks = r.get("tasks");
      assertEquals(5, tasks.size(), r.toString());
      // the fitness is the weighted mean accuracy (target weight 2, math and matches 1)
      double mean =
          (2 * tasks.get("target").asDouble()
                  + tasks.get("math").asDouble()
                  + tasks.get("matches").asDouble())
              / 4;
      assertEquals(mean, r.get("fitness").asDouble(), 1e-12, r.toString());
      assertTrue(tasks.get("language").asDouble() < 0, r.toString());
      double acc = tasks.get("matches").asDouble();
      assertTrue(acc >= 0 && acc <= 1, r.toString());
    }
    // the untuned merges are other models than any source: their log-likelihoods differ
    double taLanguage = results.get(5).get("tasks").get("language").asDouble();
    for (int i = 0; i < 4; i++) {
      assertTrue(
          Math.abs(results.get(i).get("tasks").get("language").asDouble() - taLanguage) > 1e-6);
    }
    // every strategy ran the same budget: 6 candidates, a weight and a density per expert
    for (String s : List.of("cmaes", "de", "ga")) {
      try (Stream<Path> runs = Files.list(demo)) {
        Path run =
            runs.filter(p -> p.getFileName().toString().startsWith(s + "-")).findFirst().get();
        assertEquals(6, Files.readAllLines(run.resolve("history.jsonl")).size(), s);
        JsonNode line = JSON.readTree(Files.readAllLines(run.resolve("history.jsonl")).get(0));
        assertEquals(8, line.get("genome").size(), s);
      }
    }
    // Evolver's first generation is the population of the experts (4 x 4 experts x 3 cells)
    for (String s : List.of("evolver-2", "evolver-regmean-")) {
      try (Stream<Path> runs = Files.list(demo)) {
        Path run =
            runs.filter(p -> p.getFileName().toString().startsWith(s)).findFirst().orElseThrow();
        List<String> history = Files.readAllLines(run.resolve("history.jsonl"));
        assertEquals(1, history.size(), s);
        assertEquals(48, JSON.readTree(history.get(0)).get("genome").size(), s);
        assertTrue(Files.exists(run.resolve("best/individuals/individual-3.yaml")), s);
      }
    }
    // the fixed Fisher and RegMean merges are other models than the sources and each other
    double fisher = results.get(8).get("tasks").get("language").asDouble();
    double regmean = results.get(9).get("tasks").get("language").asDouble();
    assertTrue(Math.abs(fisher - regmean) > 1e-6, results.toString());
    String md = Files.readString(demo.resolve("results.md"));
    assertTrue(md.contains("| target (exact_match) |"), md);
  }
}
