package dev.evomerge.worker.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.HfModelWriter;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MergeRunnerTest {
  @TempDir java.nio.file.Path tmp;
  private final Configuration conf = new Configuration();

  /** A 2-layer toy checkpoint whose every value is {@code v} (layer tensors {@code v + layer}). */
  private String writeModel(String name, float v, int layers) throws Exception {
    Map<String, FloatTensor> t = new LinkedHashMap<>();
    t.put("model.embed_tokens.weight", fill(new long[] {4, 2}, v));
    for (int i = 0; i < layers; i++) {
      t.put("model.layers." + i + ".mlp.up_proj.weight", fill(new long[] {3, 2}, v + i));
    }
    t.put("model.norm.weight", fill(new long[] {2}, v));
    t.put("lm_head.weight", fill(new long[] {4, 2}, v));
    ObjectNode config = new ObjectMapper().createObjectNode();
    config.put("num_hidden_layers", layers);
    java.nio.file.Path dir = tmp.resolve(name);
    java.nio.file.Path tok = Files.writeString(tmp.resolve(name + "-tokenizer.json"), "{}");
    HfModelWriter.write(new Path(dir.toUri()), conf, config, t, DType.F32, List.of());
    Files.copy(tok, dir.resolve("tokenizer.json"));
    return dir.toString();
  }

  private static FloatTensor fill(long[] shape, float v) {
    float[] d = new float[(int) FloatTensor.numel(shape)];
    java.util.Arrays.fill(d, v);
    return new FloatTensor(shape, d);
  }

  @Test
  void mergesFoldersTensorByTensorAndRecordsTheRecipe() throws Exception {
    String a = writeModel("a", 1, 2);
    String b = writeModel("b", 3, 2);
    MergeRecipe r =
        RecipeYaml.parse(
            """
            merge_method: linear
            models:
              - {model: a, parameters: {weight: 3}}
              - {model: b, parameters: {weight: 1}}
            dtype: float32
            """);
    List<String> seen = new ArrayList<>();
    Path out = new Path(tmp.resolve("out").toUri());
    MergeRunner.run(
        r,
        out,
        conf,
        new MergeRunner.Options(Device.cpu(), 5, Map.of("a", a, "b", b)),
        (done, total, name) -> seen.add(done + "/" + total + " " + name));
    assertEquals("1/5 model.embed_tokens.weight", seen.get(0));
    assertEquals(5, seen.size());
    HfModelFolder merged = HfModelFolder.open(out.toString(), conf);
    // (3*1 + 1*3) / 4 = 1.5 ; layer 1: (3*2 + 1*4) / 4 = 2.5
    assertArrayEquals(new float[] {1.5f, 1.5f}, merged.readFloat("model.norm.weight").data());
    assertEquals(2.5f, merged.readFloat("model.layers.1.mlp.up_proj.weight").data()[0]);
    assertTrue(Files.exists(tmp.resolve("out/tokenizer.json")));
    MergeRecipe written =
        RecipeYaml.parse(Files.readString(tmp.resolve("out").resolve(MergeRunner.RECIPE_FILE)));
    assertEquals(r.withRandomSeed(5), written);
    // An existing output folder fails before any tensor is merged.
    Exception e =
        assertThrows(
            RuntimeException.class,
            () ->
                MergeRunner.run(
                    r,
                    out,
                    conf,
                    new MergeRunner.Options(Device.cpu(), 5, Map.of("a", a, "b", b)),
                    (done, total, name) -> fail("merged " + name + " into an existing folder")));
    assertTrue(e.getMessage().contains("already exists"), e.getMessage());
  }

  /** Fisher statistics of every tensor of a {@link #writeModel} checkpoint, all {@code f}. */
  private void writeFisher(String dir, float f, String skip) {
    Map<String, FloatTensor> stats = new LinkedHashMap<>();
    HfModelFolder folder = HfModelFolder.open(dir, conf);
    folder.tensors().values().stream()
        .filter(info -> !info.name().equals(skip))
        .forEach(info -> stats.put(info.name(), fill(info.shape(), f)));
    StatisticsFolder.write(
        new Path(new Path(new java.io.File(dir).toURI()), StatisticsFolder.DEFAULT_SUBFOLDER)
            .toString(),
        MergeStatistics.Kind.FISHER,
        stats,
        conf);
  }

  @Test
  void fisherReadsEachModelsStatisticsAndChecksThemBeforeMerging() throws Exception {
    String a = writeModel("a", 1, 2);
    String b = writeModel("b", 5, 2);
    writeFisher(a, 3, null);
    writeFisher(b, 1, null);
    MergeRecipe r = RecipeYaml.parse("merge_method: fisher\nmodels: [{model: a}, {model: b}]\n");
    Path out = new Path(tmp.resolve("fisher").toUri());
    MergeRunner.run(
        r,
        out,
        conf,
        new MergeRunner.Options(Device.cpu(), 0, Map.of("a", a, "b", b)),
        (d, t, n) -> {});
    HfModelFolder merged = HfModelFolder.open(out.toString(), conf);
    // (3 * 1 + 1 * 5) / (3 + 1) = 2 ; layer 1: (3 * 2 + 1 * 6) / 4 = 3
    assertEquals(2f, merged.readFloat("lm_head.weight").data()[0], 1e-6);
    assertEquals(3f, merged.readFloat("model.layers.1.mlp.up_proj.weight").data()[0], 1e-6);

    writeFisher(b, 1, "lm_head.weight");
    Path never = new Path(tmp.resolve("never").toUri());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                MergeRunner.run(
                    r,
                    never,
                    conf,
                    new MergeRunner.Options(Device.cpu(), 0, Map.of("a", a, "b", b)),
                    (d, t, n) -> fail("no tensor may be merged: " + n)));
    assertTrue(
        e.getMessage().contains("No Fisher statistics for model b, tensor lm_head.weight"),
        e.getMessage());
    assertFalse(Files.exists(tmp.resolve("never")));
  }

  @Test
  void frankenmergeStacksLayersAndUpdatesTheLayerCount() throws Exception {
    String a = writeModel("a", 10, 2);
    String b = writeModel("b", 20, 3);
    MergeRecipe r =
        RecipeYaml.parse(
            """
            merge_method: passthrough
            slices:
              - sources: [{model: a, layer_range: [0, 2]}]
              - sources: [{model: b, layer_range: [1, 3], parameters: {scale: 0.5}}]
            """);
    Path out = new Path(tmp.resolve("stack").toUri());
    MergeRunner.run(
        r,
        out,
        conf,
        new MergeRunner.Options(Device.cpu(), 0, Map.of("a", a, "b", b)),
        (d, t, n) -> {});
    HfModelFolder merged = HfModelFolder.open(out.toString(), conf);
    assertEquals(4, merged.config().get("num_hidden_layers").asInt());
    assertEquals(11f, merged.readFloat("model.layers.1.mlp.up_proj.weight").data()[0]);
    assertEquals(10.5f, merged.readFloat("model.layers.2.mlp.up_proj.weight").data()[0]);
    assertEquals(11f, merged.readFloat("model.layers.3.mlp.up_proj.weight").data()[0]);
    assertEquals(10f, merged.readFloat("lm_head.weight").data()[0], "last slice, scaled");
  }

  @Test
  void badRecipesFailBeforeWritingAnything() throws Exception {
    String a = writeModel("a", 1, 2);
    String b = writeModel("b", 3, 3);
    MergeRecipe r =
        RecipeYaml.parse(
            "merge_method: slerp\nbase_model: a\nparameters: {t: 0.5}\n"
                + "slices:\n  - sources: [{model: a, layer_range: [0, 2]}, {model: b, layer_range: [2, 4]}]\n");
    Path out = new Path(tmp.resolve("never").toUri());
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                MergeRunner.run(
                    r,
                    out,
                    conf,
                    new MergeRunner.Options(Device.cpu(), 0, Map.of("a", a, "b", b)),
                    (d, t, n) -> {}));
    assertTrue(e.getMessage().contains("Model b has no tensor model.layers.3"), e.getMessage());
    assertFalse(Files.exists(tmp.resolve("never")));
  }
}
