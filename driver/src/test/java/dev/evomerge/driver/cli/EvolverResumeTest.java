package dev.evomerge.driver.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.run.ToyFixtures;
import dev.evomerge.driver.spark.TestSpark;
import dev.evomerge.driver.toy.ToyZoo;
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

/** An Evolver run with the Fisher merge through the CLI, interrupted and resumed. */
class EvolverResumeTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @BeforeAll
  static void shareSession() {
    TestSpark.session();
  }

  private String sources;

  private List<String> sets(int generations) throws Exception {
    if (sources == null) {
      sources = ToyFixtures.copiedSources(Files.createDirectories(tmp.resolve("sources")));
    }
    ToyZoo.Zoo zoo = ToyFixtures.zoo();
    return new ArrayList<>(
        List.of(
            "evomerge.search.strategy=evolver",
            "evomerge.search.options.populationSize=4",
            "evomerge.search.final-merge=fisher",
            "evomerge.merge.filters=[self_attn]",
            "evomerge.run.generations=" + generations,
            "evomerge.statistics.data=[\""
                + zoo.testSet()
                + "\", \""
                + zoo.devSet()
                + "\", \""
                + zoo.testSet()
                + "\"]",
            "evomerge.statistics.max-rows=4",
            "evomerge.statistics.max-length=24",
            "evomerge.models.sources=" + sources));
  }

  private static Path only(Path root) throws Exception {
    try (Stream<Path> dirs = Files.list(root)) {
      return dirs.filter(Files::isDirectory).findFirst().orElseThrow();
    }
  }

  private static String text(ByteArrayOutputStream b) {
    return b.toString(StandardCharsets.UTF_8);
  }

  @Test
  void aResumedEvolverRunIsTheUninterruptedOne() throws Exception {
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, ToyFixtures.config(tmp.resolve("unused")));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
    PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);

    List<String> whole = sets(3);
    whole.add("evomerge.run.output-root=\"" + tmp.resolve("whole") + "\"");
    assertEquals(0, RunCommand.execute(conf.toFile(), whole, o, e), text(err) + text(out));
    List<String> part = sets(2);
    part.add("evomerge.run.output-root=\"" + tmp.resolve("part") + "\"");
    assertEquals(0, RunCommand.execute(conf.toFile(), part, o, e), text(err) + text(out));
    Path dir = only(tmp.resolve("part"));
    assertEquals(
        0,
        ResumeCommand.execute(dir.toString(), List.of("evomerge.run.generations=3"), o, e),
        text(err) + text(out));

    Path uninterrupted = only(tmp.resolve("whole"));
    List<String> a = Files.readAllLines(uninterrupted.resolve("history.jsonl"));
    List<String> b = Files.readAllLines(dir.resolve("history.jsonl"));
    assertEquals(1 + 2 * 4, a.size());
    assertEquals(a.size(), b.size());
    for (int i = 0; i < a.size(); i++) {
      JsonNode x = JSON.readTree(a.get(i));
      JsonNode y = JSON.readTree(b.get(i));
      assertEquals(x.get("genome"), y.get("genome"), "line " + i);
      assertEquals(x.get("fitness").asDouble(), y.get("fitness").asDouble(), 1e-9, "line " + i);
      assertEquals(x.get("recipe_hash"), y.get("recipe_hash"), "line " + i);
    }
    JsonNode best = JSON.readTree(dir.resolve("best.json").toFile());
    assertEquals("fisher", best.get("final_merge").asText());
    assertEquals(
        JSON.readTree(uninterrupted.resolve("best.json").toFile()).get("individuals"),
        best.get("individuals"));
    assertTrue(text(out).contains("statistics of source-0: reused"), text(out));
    assertTrue(Files.readString(dir.resolve("best/recipe.yaml")).contains("merge_method: fisher"));
  }
}
