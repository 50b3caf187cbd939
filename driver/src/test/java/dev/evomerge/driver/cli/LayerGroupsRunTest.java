package dev.evomerge.driver.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.merge.MergeCommand;
import dev.evomerge.driver.run.ToyFixtures;
import dev.evomerge.driver.spark.TestSpark;
import dev.evomerge.worker.io.HfModelFolder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run whose weights are genes per layer group: the groups evolve different weights, the merge
 * engine applies each group's weights to its layers, and the exported recipe merged with {@code
 * evomerge merge} reproduces the best model.
 */
class LayerGroupsRunTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @BeforeAll
  static void shareSession() {
    TestSpark.session();
  }

  private static final String LAYER0 = "model.layers.0.mlp.up_proj.weight";
  private static final String LAYER1 = "model.layers.1.mlp.up_proj.weight";
  private static final String EMBED = "model.embed_tokens.weight";

  @Test
  void twoLayerGroupsEvolveTheirOwnWeightsAndTheRecipeReproducesTheBestModel() throws Exception {
    Path runs = tmp.resolve("runs");
    Path file = tmp.resolve("groups.conf");
    Files.writeString(file, ToyFixtures.config(runs) + "\nevomerge.merge.layer-groups = 2\n");
    RunCommandTest.Outcome o = RunCommandTest.run(file.toFile(), List.of());
    assertEquals(0, o.code(), o.err());
    Path dir;
    try (Stream<Path> dirs = Files.list(runs)) {
      dir = dirs.findFirst().orElseThrow();
    }
    // 3 sources x 1 gene x 2 groups
    JsonNode first = JSON.readTree(Files.readAllLines(dir.resolve("history.jsonl")).get(0));
    assertEquals(6, first.get("genome").size());

    JsonNode best = JSON.readTree(dir.resolve("best.json").toFile());
    int sources = best.get("models").size();
    double[][] weights = new double[2][sources];
    for (int i = 0; i < sources; i++) {
      JsonNode cells = best.get("models").get(i).get("cells");
      assertEquals(2, cells.size());
      for (int g = 0; g < 2; g++) {
        assertEquals(g, cells.get(g).get("layers").get(0).asInt());
        weights[g][i] = cells.get(g).get("parameters").get("weight").asDouble();
      }
    }
    assertFalse(java.util.Arrays.equals(weights[0], weights[1]), "groups evolved apart");

    // each group's (normalised linear) weights reached the merge engine for its own layers;
    // the embeddings come before the layers and take the first group's
    Configuration conf = new Configuration();
    HfModelFolder merged = HfModelFolder.open(dir.resolve("best").toString(), conf);
    List<HfModelFolder> inputs = new ArrayList<>();
    for (Path source : ToyFixtures.zoo().sources()) {
      inputs.add(HfModelFolder.open(source.toString(), conf));
    }
    assertMixed(merged, inputs, LAYER0, weights[0]);
    assertMixed(merged, inputs, LAYER1, weights[1]);
    assertMixed(merged, inputs, EMBED, weights[0]);

    // the exported recipe is one slice per group and merges to the same tensors
    String recipe = Files.readString(dir.resolve("best/recipe.yaml"));
    assertTrue(recipe.contains("slices"), recipe);
    Path again = tmp.resolve("again");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc =
        MergeCommand.run(
            new String[] {dir.resolve("best/recipe.yaml").toString(), "--out", again.toString()},
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
    HfModelFolder reproduced = HfModelFolder.open(again.toString(), conf);
    assertEquals(merged.tensors().keySet(), reproduced.tensors().keySet());
    for (String name : merged.tensors().keySet()) {
      assertArrayEquals(
          merged.readFloat(name).data(), reproduced.readFloat(name).data(), 1e-6f, name);
    }
  }

  @Test
  void filtersAndSoftmaxAreCheckedNamingTheKey() throws Exception {
    Path runs = tmp.resolve("runs");
    Path file = tmp.resolve("bad.conf");
    Files.writeString(file, ToyFixtures.config(runs));
    RunCommandTest.Outcome o =
        RunCommandTest.run(file.toFile(), List.of("evomerge.merge.layer-groups=3"));
    assertEquals(2, o.code());
    assertTrue(
        o.err().contains("evomerge.merge.layer-groups = 3") && o.err().contains("2 layers"),
        o.err());
    o = RunCommandTest.run(file.toFile(), List.of("evomerge.merge.filters=[self_atn]"));
    assertEquals(2, o.code());
    assertTrue(o.err().contains("evomerge.merge.filters: pattern 'self_atn'"), o.err());
    o =
        RunCommandTest.run(
            file.toFile(),
            List.of(
                "evomerge.merge.softmax=true",
                "evomerge.merge.method=ties",
                "evomerge.merge.genes=[density]"));
    assertEquals(2, o.code());
    assertTrue(o.err().contains("'evomerge.merge.softmax'"), o.err());
    assertFalse(Files.exists(runs), "no run folder");
  }

  @Test
  void filteredSoftmaxWeightsSumToOnePerCell() throws Exception {
    Path runs = tmp.resolve("runs");
    Path file = tmp.resolve("filters.conf");
    Files.writeString(file, ToyFixtures.config(runs));
    RunCommandTest.Outcome o =
        RunCommandTest.run(
            file.toFile(),
            List.of(
                "evomerge.merge.filters=[mlp]",
                "evomerge.merge.softmax=true",
                "evomerge.search.lower=-3",
                "evomerge.search.upper=3",
                "evomerge.run.generations=1"));
    assertEquals(0, o.code(), o.err());
    Path dir;
    try (Stream<Path> dirs = Files.list(runs)) {
      dir = dirs.findFirst().orElseThrow();
    }
    JsonNode models = JSON.readTree(dir.resolve("best.json").toFile()).get("models");
    double[] sums = new double[2];
    for (JsonNode m : models) {
      JsonNode cells = m.get("cells");
      assertEquals("mlp", cells.get(0).get("filter").asText());
      assertTrue(cells.get(1).get("filter").isNull());
      for (int c = 0; c < 2; c++) {
        sums[c] += cells.get(c).get("parameters").get("weight").asDouble();
      }
    }
    assertEquals(1.0, sums[0], 1e-12);
    assertEquals(1.0, sums[1], 1e-12);
    String recipe = Files.readString(dir.resolve("best/recipe.yaml"));
    assertTrue(recipe.contains("filter: mlp"), recipe);
    assertNotEquals(-1, recipe.indexOf("models"), recipe);
  }

  /** {@code name} of {@code merged} is the normalised {@code weights} mix of the inputs'. */
  private static void assertMixed(
      HfModelFolder merged, List<HfModelFolder> inputs, String name, double[] weights) {
    float[] actual = merged.readFloat(name).data();
    double total = 0;
    for (double w : weights) {
      total += w;
    }
    float[] expected = new float[actual.length];
    for (int i = 0; i < inputs.size(); i++) {
      float[] x = inputs.get(i).readFloat(name).data();
      for (int k = 0; k < x.length; k++) {
        expected[k] += (float) (weights[i] / total * x[k]);
      }
    }
    assertArrayEquals(expected, actual, 1e-5f, name);
  }
}
