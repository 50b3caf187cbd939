package dev.evomerge.worker.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class LlamaModelTest {
  static NDManager manager;

  @BeforeAll
  static void open() {
    manager = NDManager.newBaseManager(Device.cpu());
  }

  @AfterAll
  static void close() {
    manager.close();
  }

  static LlamaConfig config(int kvHeads) {
    return new LlamaConfig(
        "LlamaForCausalLM", 20, 16, 24, 2, 4, kvHeads, 4, 1e-5, 10000.0, false, 1, 2);
  }

  static Map<String, float[]> random(LlamaConfig config, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    Map<String, float[]> out = new LinkedHashMap<>();
    for (LlamaConfig.TensorShape t : config.expectedTensors()) {
      long n = 1;
      for (long d : t.shape()) {
        n *= d;
      }
      float[] data = new float[(int) n];
      for (int i = 0; i < data.length; i++) {
        data[i] =
            (float) (t.shape().length == 1 ? 1 + 0.1 * r.nextGaussian() : 0.4 * r.nextGaussian());
      }
      out.put(t.name(), data);
    }
    return out;
  }

  static LlamaModel model(LlamaConfig config, Map<String, float[]> weights) {
    Map<String, NDArray> arrays = new LinkedHashMap<>();
    for (LlamaConfig.TensorShape t : config.expectedTensors()) {
      arrays.put(t.name(), manager.create(weights.get(t.name()), new Shape(t.shape())));
    }
    return new LlamaModel(config, arrays);
  }

  static float[] logProbs(LlamaModel m, long[][] ids) {
    long[] flat = new long[ids.length * ids[0].length];
    for (int i = 0; i < ids.length; i++) {
      System.arraycopy(ids[i], 0, flat, i * ids[0].length, ids[0].length);
    }
    return m.logProbs(manager.create(flat, new Shape(ids.length, ids[0].length))).toFloatArray();
  }

  @Test
  void logProbabilitiesAreNormalisedAtEveryPosition() {
    LlamaConfig c = config(2);
    float[] lp = logProbs(model(c, random(c, 1)), new long[][] {{1, 5, 9, 3, 7}});
    for (int t = 0; t < 5; t++) {
      double sum = 0;
      for (int v = 0; v < 20; v++) {
        sum += Math.exp(lp[t * 20 + v]);
      }
      assertEquals(1.0, sum, 1e-5, "position " + t);
    }
  }

  @Test
  void laterTokensDoNotChangeEarlierPredictions() {
    LlamaConfig c = config(2);
    LlamaModel m = model(c, random(c, 2));
    float[] a = logProbs(m, new long[][] {{1, 5, 9, 3, 7, 4}});
    float[] b = logProbs(m, new long[][] {{1, 5, 9, 12, 0, 19}});
    for (int i = 0; i < 3 * 20; i++) {
      assertEquals(a[i], b[i], 1e-5f, "prefix entry " + i);
    }
    boolean laterDiffer = false;
    for (int i = 3 * 20; i < 6 * 20; i++) {
      laterDiffer |= Math.abs(a[i] - b[i]) > 1e-3;
    }
    assertTrue(laterDiffer, "changed tokens must change later predictions");
  }

  @Test
  void logProbsFromAPositionAreTheTailOfTheFullOnes() {
    LlamaConfig c = config(2);
    LlamaModel m = model(c, random(c, 4));
    long[][] rows = {{1, 5, 9, 3, 7, 4, 0, 2}, {1, 12, 6, 3, 19, 4, 8, 8}};
    long[] ids = new long[16];
    System.arraycopy(rows[0], 0, ids, 0, 8);
    System.arraycopy(rows[1], 0, ids, 8, 8);
    float[] full = logProbs(m, rows);
    int t = 8;
    int from = 5;
    float[] tail = m.logProbs(manager.create(ids, new Shape(2, t)), from).toFloatArray();
    int v = c.vocabSize();
    assertEquals(2 * (t - from) * v, tail.length);
    for (int r = 0; r < 2; r++) {
      for (int i = 0; i < (t - from) * v; i++) {
        assertEquals(full[(r * t + from) * v + i], tail[(r * (t - from)) * v + i], 1e-6f);
      }
    }
    assertThrows(
        IllegalArgumentException.class, () -> m.logProbs(manager.create(ids, new Shape(2, t)), t));
  }

  @Test
  void rowsOfABatchAreIndependent() {
    LlamaConfig c = config(2);
    LlamaModel m = model(c, random(c, 3));
    float[] alone = logProbs(m, new long[][] {{1, 4, 4, 8}});
    float[] batched = logProbs(m, new long[][] {{1, 9, 2, 3}, {1, 4, 4, 8}});
    for (int i = 0; i < alone.length; i++) {
      assertEquals(alone[i], batched[alone.length + i], 1e-5f);
    }
  }

  @Test
  void groupedQueryAttentionSharesEachKvHeadWithConsecutiveQueryHeads() {
    // HF repeat_kv: KV head j serves query heads j*g .. j*g+g-1. The same model written with one
    // KV head per query head (rows of k/v repeated that way) must give the same outputs.
    LlamaConfig gqa = config(2);
    LlamaConfig mha = config(4);
    Map<String, float[]> w = random(gqa, 4);
    Map<String, float[]> expanded = new LinkedHashMap<>(w);
    int headDim = 4;
    int hidden = 16;
    for (int layer = 0; layer < 2; layer++) {
      for (String proj : new String[] {"k_proj", "v_proj"}) {
        String name = "model.layers." + layer + ".self_attn." + proj + ".weight";
        float[] src = w.get(name);
        float[] dst = new float[4 * headDim * hidden];
        for (int head = 0; head < 4; head++) {
          int kvHead = head / 2;
          System.arraycopy(
              src, kvHead * headDim * hidden, dst, head * headDim * hidden, headDim * hidden);
        }
        expanded.put(name, dst);
      }
    }
    long[][] ids = {{1, 3, 17, 6, 6, 11}};
    assertArrayEquals(logProbs(model(gqa, w), ids), logProbs(model(mha, expanded), ids), 1e-5f);
  }

  @Test
  void missingOrMisshapenTensorsAreRefused() {
    LlamaConfig c = config(2);
    Map<String, NDArray> arrays = new LinkedHashMap<>();
    ModelConfigException missing =
        assertThrows(ModelConfigException.class, () -> new LlamaModel(c, arrays));
    assertTrue(missing.getMessage().contains("model.embed_tokens.weight"));
    for (LlamaConfig.TensorShape t : c.expectedTensors()) {
      arrays.put(t.name(), manager.zeros(new Shape(t.shape())));
    }
    arrays.put("model.norm.weight", manager.zeros(new Shape(15)));
    ModelConfigException shape =
        assertThrows(ModelConfigException.class, () -> new LlamaModel(c, arrays));
    assertTrue(shape.getMessage().contains("model.norm.weight"), shape.getMessage());
  }

  @Test
  void configFieldsThatChangeTheMathAreRefused() {
    ObjectMapper json = new ObjectMapper();
    ObjectNode ok = config(2).toJson(json.createObjectNode());
    assertEquals(config(2), LlamaConfig.parse(ok, "config.json"));
    ObjectNode scaled = ok.deepCopy();
    scaled.putObject("rope_scaling").put("type", "yarn").put("factor", 2.0);
    ModelConfigException e =
        assertThrows(ModelConfigException.class, () -> LlamaConfig.parse(scaled, "m/config.json"));
    assertTrue(
        e.getMessage().contains("rope_scaling type yarn")
            && e.getMessage().contains("m/config.json"),
        e.getMessage());
    ObjectNode llama3 = ok.deepCopy();
    llama3.putObject("rope_scaling").put("rope_type", "llama3").put("factor", 8.0);
    ModelConfigException incomplete =
        assertThrows(ModelConfigException.class, () -> LlamaConfig.parse(llama3, "m/config.json"));
    assertTrue(incomplete.getMessage().contains("low_freq_factor"), incomplete.getMessage());
    for (String[] field :
        new String[][] {
          {"mlp_bias", "true"}, {"hidden_act", "\"gelu\""}, {"partial_rotary_factor", "0.5"}
        }) {
      ObjectNode bad = ok.deepCopy();
      bad.set(field[0], readTree(json, field[1]));
      ModelConfigException refused =
          assertThrows(ModelConfigException.class, () -> LlamaConfig.parse(bad, "config.json"));
      assertTrue(refused.getMessage().contains(field[0]), refused.getMessage());
    }
    ObjectNode mixedLayers = ok.deepCopy();
    mixedLayers.putArray("layer_types").add("full_attention").add("sliding_attention");
    ModelConfigException mixed =
        assertThrows(ModelConfigException.class, () -> LlamaConfig.parse(mixedLayers, "c.json"));
    assertTrue(mixed.getMessage().contains("layer_types"), mixed.getMessage());
    ObjectNode fullLayers = ok.deepCopy();
    fullLayers.putArray("layer_types").add("full_attention").add("full_attention");
    assertEquals(LlamaConfig.parse(ok, "c.json"), LlamaConfig.parse(fullLayers, "c.json"));
    ObjectNode qwenWindow = ok.deepCopy();
    qwenWindow.putArray("architectures").add("Qwen2ForCausalLM");
    qwenWindow.put("use_sliding_window", true);
    assertThrows(ModelConfigException.class, () -> LlamaConfig.parse(qwenWindow, "config.json"));
    ObjectNode other = ok.deepCopy();
    other.putArray("architectures").add("GPT2LMHeadModel");
    assertThrows(ModelConfigException.class, () -> LlamaConfig.parse(other, "config.json"));
  }

  private static com.fasterxml.jackson.databind.JsonNode readTree(ObjectMapper json, String s) {
    try {
      return json.readTree(s);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void llama3ConfigsWithListEosAndRopeParametersParse() throws Exception {
    ObjectNode cfg = config(2).toJson(new ObjectMapper().createObjectNode());
    cfg.putArray("eos_token_id").add(7).add(9);
    cfg.putObject("rope_scaling")
        .put("rope_type", "llama3")
        .put("factor", 8.0)
        .put("low_freq_factor", 1.0)
        .put("high_freq_factor", 4.0)
        .put("original_max_position_embeddings", 8192);
    LlamaConfig parsed = LlamaConfig.parse(cfg, "config.json");
    assertEquals(7, parsed.eosTokenId());
    assertEquals(RopeScaling.llama3(8.0, 1.0, 4.0, 8192), parsed.ropeScaling());
    ObjectNode v5 = config(2).toJson(new ObjectMapper().createObjectNode());
    v5.remove("rope_theta");
    v5.putObject("rope_parameters")
        .put("rope_type", "linear")
        .put("factor", 2.0)
        .put("rope_theta", 5e5);
    LlamaConfig p5 = LlamaConfig.parse(v5, "config.json");
    assertEquals(5e5, p5.ropeTheta());
    assertEquals(RopeScaling.linear(2.0), p5.ropeScaling());
  }

  @Test
  void slidingWindowLimitsHowFarBackEachLayerLooks() {
    // window 3, 2 layers: position t sees tokens t-2..t in layer 1, so t-4..t through both
    LlamaConfig c = config(2).withArchitecture("MistralForCausalLM", false, 3);
    Map<String, float[]> weights = random(c, 5);
    long[][] a = {{1, 5, 9, 3, 7, 4, 11, 6}};
    long[][] b = {{1, 17, 9, 3, 7, 4, 11, 6}}; // token 1 changed
    float[] windowA = logProbs(model(c, weights), a);
    float[] windowB = logProbs(model(c, weights), b);
    LlamaConfig full = c.withArchitecture("MistralForCausalLM", false, 0);
    float[] fullA = logProbs(model(full, weights), a);
    float[] fullB = logProbs(model(full, weights), b);
    int v = c.vocabSize();
    for (int t = 1; t < 8; t++) {
      double windowDiff = 0;
      double fullDiff = 0;
      for (int j = 0; j < v; j++) {
        windowDiff = Math.max(windowDiff, Math.abs(windowA[t * v + j] - windowB[t * v + j]));
        fullDiff = Math.max(fullDiff, Math.abs(fullA[t * v + j] - fullB[t * v + j]));
      }
      assertTrue(fullDiff > 1e-3, "without a window, token 1 reaches position " + t);
      if (t <= 5) {
        assertTrue(windowDiff > 1e-3, "token 1 is within two windows of position " + t);
      } else {
        assertEquals(0, windowDiff, 1e-6, "token 1 is out of reach of position " + t);
      }
    }
  }
}
