package dev.evomerge.worker.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.worker.io.FloatTensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class LayerPathModelTest {
  private static final long[][] IDS = {{1, 5, 9, 3, 7, 4}, {2, 8, 0, 13, 11, 6}};

  private NDManager manager;
  private NDScope scope;

  @BeforeEach
  void open() {
    manager = NDManager.newBaseManager(Device.cpu());
    scope = new NDScope();
    scope.suppressNotUsedWarning();
  }

  @AfterEach
  void close() {
    scope.close();
    manager.close();
  }

  /** 3 layers, so a path can skip and repeat inside one model. */
  private static LlamaConfig config() {
    return TinyCheckpoints.llama(2).withArchitecture("LlamaForCausalLM", false, 0);
  }

  private static LlamaConfig layers(LlamaConfig c, int n) {
    return new LlamaConfig(
        c.architecture(),
        c.vocabSize(),
        c.hiddenSize(),
        c.intermediateSize(),
        n,
        c.numHeads(),
        c.numKvHeads(),
        c.headDim(),
        c.rmsNormEps(),
        c.ropeTheta(),
        c.tieWordEmbeddings(),
        c.bosTokenId(),
        c.eosTokenId());
  }

  private Map<String, NDArray> arrays(Map<String, FloatTensor> weights) {
    Map<String, NDArray> out = new LinkedHashMap<>();
    weights.forEach((k, v) -> out.put(k, manager.create(v.data(), new Shape(v.shape()))));
    return out;
  }

  private LlamaModel model(LlamaConfig c, long seed) {
    return new LlamaModel(c, arrays(TinyCheckpoints.random(c, seed)));
  }

  private NDArray ids() {
    return KvCacheTest.flat(manager, IDS);
  }

  private static List<LayerPathModel.Hop> own(int source, int layers) {
    List<LayerPathModel.Hop> hops = new ArrayList<>();
    for (int i = 0; i < layers; i++) {
      hops.add(new LayerPathModel.Hop(source, i, 1f));
    }
    return hops;
  }

  @Test
  void aModelsOwnLayersInOrderWithScaleOneEqualItsForwardPassExactly() {
    LlamaConfig c = layers(config(), 3);
    LlamaModel a = model(c, 1);
    LlamaModel b = model(c, 2);
    LayerPathModel path = new LayerPathModel(List.of(b, a), 1, 1, own(1, 3));
    assertArrayEquals(a.logits(ids()).toFloatArray(), path.logits(ids()).toFloatArray());
    NDArray mask = KvCacheTest.flat(manager, new long[][] {{0, 0, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1}});
    assertArrayEquals(
        a.logProbs(ids(), mask).toFloatArray(), path.logProbs(ids(), mask).toFloatArray());
    // the other model's path is a different function
    LayerPathModel other = new LayerPathModel(List.of(b, a), 1, 1, own(0, 3));
    assertNotEquals(
        a.logits(ids()).getFloat(0, 5, 3), other.logits(ids()).getFloat(0, 5, 3), 1e-6f);
  }

  @Test
  void aRepeatedLayerSharesItsArraysAndEqualsTheCheckpointWithTheLayerDuplicated() {
    LlamaConfig c = layers(config(), 3);
    Map<String, FloatTensor> weights = TinyCheckpoints.random(c, 3);
    Map<String, NDArray> resident = arrays(weights);
    LlamaModel source = new LlamaModel(c, resident);
    int before = manager.getManagedArrays().size();
    // layers 0, 1, 1, 2: layer 1 twice
    List<LayerPathModel.Hop> hops =
        List.of(
            new LayerPathModel.Hop(0, 0, 1f),
            new LayerPathModel.Hop(0, 1, 1f),
            new LayerPathModel.Hop(0, 1, 1f),
            new LayerPathModel.Hop(0, 2, 1f));
    LayerPathModel path = new LayerPathModel(List.of(source), 0, 0, hops);
    assertEquals(before, manager.getManagedArrays().size(), "building a path allocates nothing");

    // the same checkpoint written with layer 1 duplicated (4 layers, renumbered)
    Map<String, NDArray> duplicated = new LinkedHashMap<>();
    int[] from = {0, 1, 1, 2};
    for (LlamaConfig.TensorShape t : layers(c, 4).expectedTensors()) {
      String name = t.name();
      if (name.startsWith("model.layers.")) {
        String[] parts = name.split("\\.", 4);
        int k = Integer.parseInt(parts[2]);
        // the duplicate refers to the very same NDArray as the original
        duplicated.put(name, resident.get("model.layers." + from[k] + "." + parts[3]));
      } else {
        duplicated.put(name, resident.get(name));
      }
    }
    assertSame(
        duplicated.get("model.layers.1.mlp.up_proj.weight"),
        duplicated.get("model.layers.2.mlp.up_proj.weight"));
    LlamaModel stacked = new LlamaModel(layers(c, 4), duplicated);
    assertArrayEquals(stacked.logits(ids()).toFloatArray(), path.logits(ids()).toFloatArray());
    assertNotEquals(
        source.logits(ids()).getFloat(1, 5, 2), path.logits(ids()).getFloat(1, 5, 2), 1e-6f);
  }

  @Test
  void scalesMultiplyTheHiddenStatePassedIntoEachHop() {
    LlamaConfig c = layers(config(), 2);
    LlamaModel a = model(c, 4);
    List<LayerPathModel.Hop> scaled =
        List.of(new LayerPathModel.Hop(0, 0, 1f), new LayerPathModel.Hop(0, 1, 0f));
    // scale 0 into the last layer: it sees a zero stream (no biases, so it adds zeros) and the
    // output no longer depends on the tokens
    float[] out = new LayerPathModel(List.of(a), 0, 0, scaled).logits(ids()).toFloatArray();
    float[] unscaled = a.logits(ids()).toFloatArray();
    boolean differs = false;
    for (int i = 0; i < out.length; i++) {
      differs |= Math.abs(out[i] - unscaled[i]) > 1e-3;
    }
    assertTrue(differs, "a scale must change the result");
    int v = c.vocabSize();
    for (int i = 0; i < v; i++) {
      assertEquals(out[i], out[3 * v + i], 1e-5f, "scale 0 makes every position alike");
    }
  }

  @Test
  void incrementalDecodingOnAPathEqualsFullRecomputation() {
    LlamaConfig c = layers(config(), 3);
    LlamaModel a = model(c, 5);
    LlamaModel b = model(c, 6);
    List<LayerPathModel.Hop> hops =
        List.of(
            new LayerPathModel.Hop(0, 0, 1f),
            new LayerPathModel.Hop(1, 1, 0.8f),
            new LayerPathModel.Hop(1, 1, 1.2f),
            new LayerPathModel.Hop(0, 2, 1f));
    LayerPathModel path = new LayerPathModel(List.of(a, b), 0, 1, hops);
    long[][] prompt = {{0, 0, 1, 6}, {1, 9, 4, 13}};
    long[][] mask = {{0, 0, 1, 1}, {1, 1, 1, 1}};
    long[][] next = {{3, 8}, {11, 2}};
    try (KvCache cache = path.newCache(2)) {
      float[] step =
          path.nextTokenLogits(
                  KvCacheTest.flat(manager, prompt), KvCacheTest.flat(manager, mask), cache)
              .toFloatArray();
      for (int s = 0; s <= next[0].length; s++) {
        int t = prompt[0].length + s;
        long[][] fullIds = new long[2][t];
        long[][] fullMask = new long[2][t];
        for (int r = 0; r < 2; r++) {
          for (int i = 0; i < t; i++) {
            fullIds[r][i] = i < prompt[r].length ? prompt[r][i] : next[r][i - prompt[r].length];
            fullMask[r][i] = i < prompt[r].length ? mask[r][i] : 1;
          }
        }
        float[] last =
            path.logits(KvCacheTest.flat(manager, fullIds), KvCacheTest.flat(manager, fullMask))
                .get(":, " + (t - 1) + ", :")
                .toFloatArray();
        for (int i = 0; i < last.length; i++) {
          assertEquals(last[i], step[i], 1e-4, "step " + s + " entry " + i);
        }
        if (s < next[0].length) {
          long[][] in = {{next[0][s]}, {next[1][s]}};
          step = path.nextTokenLogits(KvCacheTest.flat(manager, in), null, cache).toFloatArray();
        }
      }
      assertEquals(prompt[0].length + next[0].length, cache.length());
    }
    // a cache made for another layer count is refused
    try (KvCache wrong = a.newCache(2)) {
      assertThrows(
          IllegalArgumentException.class,
          () -> path.nextTokenLogits(KvCacheTest.flat(manager, prompt), null, wrong));
    }
  }

  @Test
  void hopsOutsideTheSourcesAndRecordedScalesThatDoNotFitAreRefused() {
    LlamaConfig c = layers(config(), 2);
    LlamaModel a = model(c, 7);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new LayerPathModel(List.of(a), 0, 0, List.of(new LayerPathModel.Hop(0, 2, 1f))));
    assertTrue(e.getMessage().contains("layer 2 of source 0, which has 2 layers"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> new LayerPathModel(List.of(a), 0, 1, List.of(new LayerPathModel.Hop(0, 0, 1f))));
    ObjectNode json = new ObjectMapper().createObjectNode();
    json.putObject(LayerPathModel.CONFIG_KEY).putArray("scales").add(1.0);
    ModelConfigException bad =
        assertThrows(
            ModelConfigException.class,
            () ->
                LayerPathModel.of(c, arrays(TinyCheckpoints.random(c, 7)), json, "x/config.json"));
    assertTrue(bad.getMessage().contains("x/config.json"), bad.getMessage());
    ObjectNode ok = new ObjectMapper().createObjectNode();
    ok.putObject(LayerPathModel.CONFIG_KEY).putArray("scales").add(1.0).add(0.5);
    LanguageModel loaded = LayerPathModel.of(c, arrays(TinyCheckpoints.random(c, 7)), ok, "y");
    LanguageModel direct =
        new LayerPathModel(
            List.of(a),
            0,
            0,
            List.of(new LayerPathModel.Hop(0, 0, 1f), new LayerPathModel.Hop(0, 1, 0.5f)));
    assertArrayEquals(direct.logits(ids()).toFloatArray(), loaded.logits(ids()).toFloatArray());
  }
}
