package dev.evomerge.worker.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelFolder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Logits of checkpoints written in HF layout against {@link ReferenceLlama}, to 1e-4 relative. */
class LlamaParityTest {
  static NDManager manager;
  @TempDir static Path dir;

  static final long[] SHORT = {1, 7, 3, 3, 12};
  static final long[] LONG = {1, 5, 19, 0, 8, 2, 11, 4, 6, 9, 13, 17};

  @BeforeAll
  static void open() {
    manager = NDManager.newBaseManager(Device.cpu());
  }

  @AfterAll
  static void close() {
    manager.close();
  }

  static Stream<Arguments> variants() {
    LlamaConfig headDim8 =
        new LlamaConfig("LlamaForCausalLM", 20, 16, 24, 2, 4, 2, 8, 1e-5, 100.0, false, 1, 2);
    return Stream.of(
        Arguments.of("llama-mha-untied-f32", TinyCheckpoints.llama(4), DType.F32),
        Arguments.of(
            "mistral-gqa-untied-bf16",
            TinyCheckpoints.llama(2).withArchitecture("MistralForCausalLM", false, 64),
            DType.BF16),
        Arguments.of(
            "mistral-gqa-sliding-window-4-f32",
            TinyCheckpoints.llama(2).withArchitecture("MistralForCausalLM", false, 4),
            DType.F32),
        Arguments.of(
            "qwen2-bias-tied-f32",
            TinyCheckpoints.llama(2)
                .withBiases(true, false)
                .withArchitecture("Qwen2ForCausalLM", true, 0),
            DType.F32),
        Arguments.of(
            "llama-attention-bias-tied-bf16",
            TinyCheckpoints.llama(1)
                .withBiases(true, true)
                .withArchitecture("LlamaForCausalLM", true, 0),
            DType.BF16),
        Arguments.of(
            "llama-head-dim-8-llama3-rope",
            headDim8.withRopeScaling(RopeScaling.llama3(8.0, 1.0, 4.0, 64)),
            DType.F32),
        Arguments.of(
            "llama-linear-rope", headDim8.withRopeScaling(RopeScaling.linear(4.0)), DType.F32));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("variants")
  void logitsMatchThePlainJavaReferenceUnderLeftAndRightPadding(
      String name, LlamaConfig config, DType dtype) {
    Path folderPath = TinyCheckpoints.write(dir.resolve(name), config, 42, dtype, List.of());
    HfModelFolder folder = HfModelFolder.open(folderPath.toUri().toString(), new Configuration());
    LlamaConfig parsed = ModelWeights.config(folder);
    assertEquals(config, parsed, "config.json round trip");
    Map<String, FloatTensor> stored = folder.readAllFloat();
    ReferenceLlama reference = new ReferenceLlama(parsed, stored);
    double[][] refShort = reference.logits(SHORT);
    double[][] refLong = reference.logits(LONG);
    try (NDManager m = manager.newSubManager();
        NDScope scope = new NDScope()) {
      scope.suppressNotUsedWarning();
      LlamaModel model = new LlamaModel(parsed, ModelWeights.load(folder, parsed, m));
      int v = parsed.vocabSize();
      int t = LONG.length;
      int pad = t - SHORT.length;
      // left padding with a mask: positions must come from the mask
      long[] left = new long[2 * t];
      long[] mask = new long[2 * t];
      for (int i = 0; i < SHORT.length; i++) {
        left[pad + i] = SHORT[i];
        mask[pad + i] = 1;
      }
      System.arraycopy(LONG, 0, left, t, t);
      java.util.Arrays.fill(mask, t, 2 * t, 1);
      float[] l =
          model
              .logits(m.create(left, new Shape(2, t)), m.create(mask, new Shape(2, t)))
              .toFloatArray();
      for (int i = 0; i < SHORT.length; i++) {
        assertClose(refShort[i], l, (pad + i) * v, name + " left-padded short row, position " + i);
      }
      for (int i = 0; i < t; i++) {
        assertClose(refLong[i], l, (t + i) * v, name + " long row, position " + i);
      }
      // right padding, no mask
      long[] right = new long[2 * t];
      System.arraycopy(SHORT, 0, right, 0, SHORT.length);
      java.util.Arrays.fill(right, SHORT.length, t, 19);
      System.arraycopy(LONG, 0, right, t, t);
      float[] r = model.logits(m.create(right, new Shape(2, t))).toFloatArray();
      for (int i = 0; i < SHORT.length; i++) {
        assertClose(refShort[i], r, i * v, name + " right-padded short row, position " + i);
      }
    }
  }

  @org.junit.jupiter.api.Test
  void loadingNamesTheFolderOfAMissingTensor() {
    LlamaConfig config = TinyCheckpoints.llama(2);
    Path p = TinyCheckpoints.write(dir.resolve("plain"), config, 1, DType.F32, List.of());
    HfModelFolder folder = HfModelFolder.open(p.toUri().toString(), new Configuration());
    LlamaConfig biased = config.withBiases(true, false);
    try (NDManager m = manager.newSubManager()) {
      ModelConfigException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              ModelConfigException.class, () -> ModelWeights.load(folder, biased, m));
      assertTrue(
          e.getMessage().contains("model.layers.0.self_attn.q_proj.bias")
              && e.getMessage().contains(folder.uri()),
          e.getMessage());
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("variants")
  void ropeScalingChangesTheReferenceEnoughToBeTested(
      String name, LlamaConfig config, DType dtype) {
    if (config.ropeScaling() == null) {
      return;
    }
    Map<String, FloatTensor> weights = TinyCheckpoints.random(config, 42);
    double[][] scaled = new ReferenceLlama(config, weights).logits(LONG);
    double[][] plain = new ReferenceLlama(config.withRopeScaling(null), weights).logits(LONG);
    double diff = 0;
    for (int v = 0; v < config.vocabSize(); v++) {
      diff = Math.max(diff, Math.abs(scaled[LONG.length - 1][v] - plain[LONG.length - 1][v]));
    }
    assertTrue(diff > 1e-2, name + ": scaling moves logits by only " + diff);
  }

  @org.junit.jupiter.api.Test
  void slidingWindowChangesTheReferenceEnoughToBeTested() {
    LlamaConfig windowed =
        TinyCheckpoints.llama(2).withArchitecture("MistralForCausalLM", false, 4);
    Map<String, FloatTensor> weights = TinyCheckpoints.random(windowed, 42);
    double[][] w = new ReferenceLlama(windowed, weights).logits(LONG);
    double[][] full =
        new ReferenceLlama(windowed.withArchitecture("MistralForCausalLM", false, 0), weights)
            .logits(LONG);
    double early = 0;
    double late = 0;
    for (int v = 0; v < windowed.vocabSize(); v++) {
      early = Math.max(early, Math.abs(w[3][v] - full[3][v]));
      late = Math.max(late, Math.abs(w[LONG.length - 1][v] - full[LONG.length - 1][v]));
    }
    assertEquals(0, early, 1e-12, "inside the window nothing changes");
    assertTrue(late > 1e-2, "the window moves late logits by only " + late);
  }

  static void assertClose(double[] expected, float[] actual, int offset, String what) {
    double scale = 1;
    for (double e : expected) {
      scale = Math.max(scale, Math.abs(e));
    }
    for (int j = 0; j < expected.length; j++) {
      double err = Math.abs(actual[offset + j] - expected[j]);
      assertTrue(
          err <= 1e-4 * scale,
          String.format(
              "%s, token %d: %.7f vs reference %.7f", what, j, actual[offset + j], expected[j]));
    }
  }
}
