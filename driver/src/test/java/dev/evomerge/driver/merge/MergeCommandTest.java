package dev.evomerge.driver.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.HfModelWriter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MergeCommandTest {
  @TempDir Path tmp;
  private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
  private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(outBytes, true, StandardCharsets.UTF_8);
  private final PrintStream err = new PrintStream(errBytes, true, StandardCharsets.UTF_8);

  private int run(String... args) {
    return MergeCommand.run(args, out, err);
  }

  private String model(String name, float v) {
    Path dir = tmp.resolve(name);
    HfModelWriter.write(
        new org.apache.hadoop.fs.Path(dir.toUri()),
        new Configuration(),
        new ObjectMapper().createObjectNode(),
        Map.of(
            "model.layers.0.mlp.up_proj.weight",
                new FloatTensor(new long[] {2}, new float[] {v, v}),
            "lm_head.weight", new FloatTensor(new long[] {2}, new float[] {v, 2 * v})),
        DType.F32,
        List.of());
    return dir.toString();
  }

  @Test
  void helpPrintsUsage() {
    assertEquals(0, run("--help"));
    assertTrue(outBytes.toString(StandardCharsets.UTF_8).contains("usage: evomerge merge"));
  }

  @Test
  void missingOutIsAUsageError() {
    assertEquals(2, run("recipe.yaml"));
    assertTrue(errBytes.toString(StandardCharsets.UTF_8).contains("--out"));
  }

  @Test
  void mergesARecipeWithProgressAndSeed() throws Exception {
    String a = model("a", 1);
    String b = model("b", 3);
    Path recipe =
        Files.writeString(
            tmp.resolve("r.yaml"),
            "merge_method: task_arithmetic\nbase_model: base\nmodels:\n"
                + "  - {model: other, parameters: {weight: 0.5}}\n");
    Path dir = tmp.resolve("merged");
    int rc =
        run(
            recipe.toString(),
            "--out",
            dir.toString(),
            "--seed",
            "7",
            "--model",
            "base=" + a,
            "--model",
            "other=" + b);
    assertEquals(0, rc, errBytes.toString(StandardCharsets.UTF_8));
    assertTrue(errBytes.toString(StandardCharsets.UTF_8).contains("2/2 tensors"));
    assertTrue(outBytes.toString(StandardCharsets.UTF_8).contains("Merged 2 tensors"));
    HfModelFolder merged = HfModelFolder.open(dir.toString(), new Configuration());
    // 1 + 0.5 * (3 - 1) = 2 ; lm_head: [1, 2] + 0.5 * ([3, 6] - [1, 2]) = [2, 4]
    assertEquals(2f, merged.readFloat("model.layers.0.mlp.up_proj.weight").data()[0]);
    assertEquals(4f, merged.readFloat("lm_head.weight").data()[1]);
    assertTrue(Files.readString(dir.resolve("mergekit_config.yml")).contains("random_seed: 7"));
  }

  @Test
  void anUnknownMethodFailsWithASuggestion() throws Exception {
    Path recipe =
        Files.writeString(tmp.resolve("r.yaml"), "merge_method: tie\nmodels: [{model: x}]\n");
    assertEquals(1, run(recipe.toString(), "--out", tmp.resolve("o").toString()));
    assertTrue(errBytes.toString(StandardCharsets.UTF_8).contains("did you mean ties?"));
  }

  @Test
  void maxShardSizeShardsTheWrittenModelAndABadSizeIsAUsageError() throws Exception {
    String a = model("a", 1);
    String b = model("b", 3);
    Path recipe =
        Files.writeString(
            tmp.resolve("r.yaml"),
            "merge_method: linear\nmodels:\n  - {model: "
                + a
                + ", parameters: {weight: 1}}\n  - {model: "
                + b
                + ", parameters: {weight: 1}}\n");
    Path dir = tmp.resolve("sharded");
    assertEquals(
        0,
        run(recipe.toString(), "--out", dir.toString(), "--max-shard-size", "8B"),
        errBytes.toString(StandardCharsets.UTF_8));
    HfModelFolder merged = HfModelFolder.open(dir.toString(), new Configuration());
    assertTrue(merged.isSharded());
    assertEquals(2, merged.shards().size());
    assertTrue(Files.exists(dir.resolve("model-00002-of-00002.safetensors")));
    assertEquals(2f, merged.readFloat("model.layers.0.mlp.up_proj.weight").data()[0]);

    assertEquals(
        2,
        run(
            recipe.toString(),
            "--out",
            tmp.resolve("x").toString(),
            "--max-shard-size",
            "5 parsecs"));
    assertTrue(errBytes.toString(StandardCharsets.UTF_8).contains("Invalid size 5 parsecs"));
    assertEquals(
        2, run(recipe.toString(), "--out", tmp.resolve("y").toString(), "--max-shard-size", "0MB"));
    assertTrue(errBytes.toString(StandardCharsets.UTF_8).contains("must be positive"));
    assertTrue(Files.notExists(tmp.resolve("x")) && Files.notExists(tmp.resolve("y")));
  }

  @Test
  void badSeedsAndMissingRecipesAreNamed() {
    assertEquals(2, run("r.yaml", "--out", tmp.resolve("o").toString(), "--seed", "x1"));
    assertTrue(
        errBytes.toString(StandardCharsets.UTF_8).contains("--seed must be an integer, got x1"));
    String missing = tmp.resolve("nope.yaml").toString();
    assertEquals(1, run(missing, "--out", tmp.resolve("o").toString()));
    assertTrue(errBytes.toString(StandardCharsets.UTF_8).contains("Cannot read recipe " + missing));
  }

  @Test
  void regmeanTakesStatisticsFolders() throws Exception {
    String a = model("a", 1);
    String b = model("b", 3);
    // Gram matrices of the 1-D tensors are not used: regmean averages them, weights 1 and 3.
    Path sa = Files.createDirectories(tmp.resolve("stats-a"));
    Path sb = Files.createDirectories(tmp.resolve("stats-b"));
    for (Path p : List.of(sa, sb)) {
      dev.evomerge.worker.merge.StatisticsFolder.write(
          p.toString(),
          dev.evomerge.worker.merge.MergeStatistics.Kind.GRAM,
          Map.of("unused", new FloatTensor(new long[] {1, 1}, new float[] {1})),
          new Configuration());
    }
    Path recipe =
        Files.writeString(
            tmp.resolve("r.yaml"),
            "merge_method: regmean\nmodels:\n  - {model: a}\n  - {model: b, parameters:"
                + " {weight: 3}}\n");
    Path dir = tmp.resolve("merged");
    int rc =
        run(
            recipe.toString(),
            "--out",
            dir.toString(),
            "--model",
            "a=" + a,
            "--model",
            "b=" + b,
            "--statistics",
            "a=" + sa,
            "--statistics",
            "b=" + sb);
    assertEquals(0, rc, errBytes.toString(StandardCharsets.UTF_8));
    HfModelFolder merged = HfModelFolder.open(dir.toString(), new Configuration());
    // (1 * 1 + 3 * 3) / 4 = 2.5
    assertEquals(2.5f, merged.readFloat("model.layers.0.mlp.up_proj.weight").data()[0]);
    assertEquals(
        1,
        run(
            recipe.toString(),
            "--out",
            tmp.resolve("m2").toString(),
            "--model",
            "a=" + a,
            "--model",
            "b=" + b));
    assertTrue(
        errBytes.toString(StandardCharsets.UTF_8).contains("Cannot open Gram matrix of model a"),
        errBytes.toString(StandardCharsets.UTF_8));
  }
}
