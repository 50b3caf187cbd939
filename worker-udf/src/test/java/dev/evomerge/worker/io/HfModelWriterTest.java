package dev.evomerge.worker.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfModelWriterTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir java.nio.file.Path dir;

  private final Configuration conf = new Configuration();

  static Map<String, FloatTensor> toyTensors(int layers, int hidden, long seed) {
    Random r = new Random(seed);
    Map<String, FloatTensor> t = new LinkedHashMap<>();
    t.put("model.embed_tokens.weight", random(r, 32, hidden));
    for (int i = 0; i < layers; i++) {
      t.put("model.layers." + i + ".self_attn.q_proj.weight", random(r, hidden, hidden));
      t.put("model.layers." + i + ".mlp.up_proj.weight", random(r, 2 * hidden, hidden));
      t.put("model.layers." + i + ".input_layernorm.weight", random(r, hidden));
    }
    t.put("model.norm.weight", random(r, hidden));
    t.put("lm_head.weight", random(r, 32, hidden));
    return t;
  }

  static FloatTensor random(Random r, long... shape) {
    float[] d = new float[(int) FloatTensor.numel(shape)];
    for (int i = 0; i < d.length; i++) {
      d[i] = (float) r.nextGaussian();
    }
    return new FloatTensor(shape, d);
  }

  static ObjectNode config(int layers, int hidden) {
    ObjectNode c = JSON.createObjectNode();
    c.putArray("architectures").add("LlamaForCausalLM");
    c.put("model_type", "llama");
    c.put("hidden_size", hidden);
    c.put("num_hidden_layers", layers);
    c.put("num_attention_heads", 4);
    c.put("num_key_value_heads", 2);
    c.put("vocab_size", 32);
    c.put("tie_word_embeddings", false);
    return c;
  }

  private Path src(String name, String text) throws Exception {
    java.nio.file.Path p = dir.resolve("src").resolve(name);
    Files.createDirectories(p.getParent());
    Files.writeString(p, text);
    return new Path(p.toUri());
  }

  /** The BF16 value a correct writer stores for {@code v}: round to nearest even, independently. */
  static float bf16(float v) {
    int bits = Float.floatToRawIntBits(v);
    int lsb = (bits >>> 16) & 1;
    return Float.intBitsToFloat((bits + 0x7fff + lsb) & 0xffff0000);
  }

  @Test
  void writesShardedBf16WithIndexConfigAndTokenizerAndReadsItBack() throws Exception {
    Map<String, FloatTensor> tensors = toyTensors(3, 16, 1);
    Path target = new Path(dir.resolve("out").toUri());
    List<Path> tok =
        List.of(src("tokenizer.json", "{\"t\":1}"), src("tokenizer_config.json", "{}"));
    Map<String, TensorSource> sources = new LinkedHashMap<>();
    tensors.forEach((k, v) -> sources.put(k, TensorSource.of(v)));
    HfModelWriter.write(
        target, conf, config(3, 16), sources, new WriteOptions(DType.BF16, 1500), tok);

    java.nio.file.Path out = dir.resolve("out");
    JsonNode index = JSON.readTree(out.resolve(HfModelFolder.INDEX).toFile());
    long expectedTotal = tensors.values().stream().mapToLong(t -> t.data().length * 2L).sum();
    assertEquals(expectedTotal, index.get("metadata").get("total_size").asLong());
    int shards;
    try (Stream<java.nio.file.Path> s = Files.list(out)) {
      shards = (int) s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).count();
    }
    assertTrue(shards > 3, "shards: " + shards);
    for (int i = 1; i <= shards; i++) {
      java.nio.file.Path shard =
          out.resolve(String.format("model-%05d-of-%05d.safetensors", i, shards));
      assertTrue(Files.exists(shard), shard.toString());
      // each shard respects the limit unless it holds a single larger tensor
      SafetensorsFile f = SafetensorsFile.open(new Path(shard.toUri()), conf);
      long bytes = f.tensors().values().stream().mapToLong(TensorInfo::byteSize).sum();
      assertTrue(bytes <= 1500 || f.tensors().size() == 1, shard + " has " + bytes);
    }
    assertEquals("{\"t\":1}", Files.readString(out.resolve("tokenizer.json")));
    assertTrue(Files.exists(out.resolve("tokenizer_config.json")));
    JsonNode cfg = JSON.readTree(out.resolve("config.json").toFile());
    assertEquals("bfloat16", cfg.get("torch_dtype").asText());
    try (Stream<java.nio.file.Path> s = Files.list(dir)) {
      assertEquals(List.of("out", "src"), s.map(p -> p.getFileName().toString()).sorted().toList());
    }

    HfModelFolder model = HfModelFolder.open(target.toString(), conf);
    assertTrue(model.isSharded());
    assertEquals(shards, model.shards().size());
    assertEquals(
        List.copyOf(tensors.keySet()).stream().sorted().toList(),
        model.tensors().keySet().stream().sorted().toList());
    for (Map.Entry<String, FloatTensor> e : tensors.entrySet()) {
      FloatTensor back = model.readFloat(e.getKey());
      assertArrayEquals(e.getValue().shape(), back.shape());
      float[] want = e.getValue().data();
      for (int i = 0; i < want.length; i++) {
        assertEquals(bf16(want[i]), back.data()[i], e.getKey() + "[" + i + "]");
      }
      assertEquals(DType.BF16, model.tensors().get(e.getKey()).dtype());
    }
    assertEquals(2, model.tokenizerFiles().size());
  }

  @Test
  void singleShardIsModelSafetensorsAndF32RoundTripsExactly() {
    Map<String, FloatTensor> tensors = toyTensors(2, 8, 2);
    Path target = new Path(dir.resolve("single").toUri());
    HfModelWriter.write(target, conf, config(2, 8), tensors, DType.F32, List.of());
    assertTrue(Files.exists(dir.resolve("single").resolve(HfModelFolder.WEIGHTS)));
    assertFalse(Files.exists(dir.resolve("single").resolve(HfModelFolder.INDEX)));
    HfModelFolder model = HfModelFolder.open(target.toString(), conf);
    assertFalse(model.isSharded());
    assertEquals(tensors, model.readAllFloat());
    assertThrows(
        CheckpointException.class,
        () -> HfModelWriter.write(target, conf, config(2, 8), tensors, DType.F32, List.of()));
  }

  @Test
  void updatesLayerCountWhenTheMergeChangesIt() throws Exception {
    Path target = new Path(dir.resolve("fewer").toUri());
    HfModelWriter.write(target, conf, config(4, 8), toyTensors(2, 8, 3), DType.F16, List.of());
    JsonNode cfg = JSON.readTree(dir.resolve("fewer").resolve("config.json").toFile());
    assertEquals(2, cfg.get("num_hidden_layers").asInt());
    assertEquals("float16", cfg.get("torch_dtype").asText());
  }

  static TensorSource failingAfter(FloatTensor t) {
    return new TensorSource() {
      @Override
      public long[] shape() {
        return t.shape();
      }

      @Override
      public void read(long first, float[] dst, int offset, int count) {
        throw new IllegalStateException("source went away");
      }
    };
  }

  @Test
  void failedWriteLeavesNothingThatLooksLikeAModel() throws Exception {
    for (boolean atomic : new boolean[] {true, false}) {
      Configuration c = new Configuration();
      c.setBoolean(HfModelWriter.ATOMIC_RENAME_KEY, atomic);
      Map<String, TensorSource> sources = new LinkedHashMap<>();
      toyTensors(2, 8, 4).forEach((k, v) -> sources.put(k, TensorSource.of(v)));
      sources.put("zzz.last", failingAfter(new FloatTensor(new long[] {2}, new float[2])));
      java.nio.file.Path parent = dir.resolve("fail-" + atomic);
      Files.createDirectories(parent);
      Path target = new Path(parent.resolve("out").toUri());
      assertThrows(
          IllegalStateException.class,
          () ->
              HfModelWriter.write(
                  target, c, config(2, 8), sources, new WriteOptions(DType.BF16, 400), List.of()));
      try (Stream<java.nio.file.Path> s = Files.list(parent)) {
        assertEquals(List.of(), s.toList(), "atomic=" + atomic);
      }
    }
  }

  @Test
  void objectStoreModeWritesIndexAndMarkerAndReaderRefusesWithoutMarker() throws Exception {
    Configuration c = new Configuration();
    c.setBoolean(HfModelWriter.ATOMIC_RENAME_KEY, false);
    Path target = new Path(dir.resolve("inplace").toUri());
    Map<String, FloatTensor> tensors = toyTensors(1, 8, 5);
    HfModelWriter.write(target, c, config(1, 8), tensors, DType.F32, List.of());
    java.nio.file.Path out = dir.resolve("inplace");
    // always indexed in this mode, even for one shard
    assertTrue(Files.exists(out.resolve("model-00001-of-00001.safetensors")));
    assertEquals(tensors, HfModelFolder.open(target.toString(), conf).readAllFloat());

    Files.delete(out.resolve(HfModelFolder.COMPLETE_MARKER));
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> HfModelFolder.open(target.toString(), conf));
    assertTrue(e.getMessage().contains("did not finish"), e.getMessage());
  }

  @Test
  void parsesShardSizes() {
    assertEquals(5_000_000_000L, WriteOptions.parseSize("5GB"));
    assertEquals(500_000_000L, WriteOptions.parseSize("500MB"));
    assertEquals(2L << 30, WriteOptions.parseSize("2GiB"));
    assertEquals(1234, WriteOptions.parseSize("1234"));
    assertThrows(IllegalArgumentException.class, () -> WriteOptions.parseSize("lots"));
  }
}
