package dev.evomerge.worker.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.evomerge.worker.io.FloatTensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class KvCacheTest {
  static Stream<Arguments> configs() {
    return Stream.of(
        Arguments.of(
            "qwen2-linear-rope",
            TinyCheckpoints.llama(2)
                .withBiases(true, false)
                .withArchitecture("Qwen2ForCausalLM", false, 0)
                .withRopeScaling(RopeScaling.linear(2.0))),
        // 4 prompt + 3 new tokens run past a window of 3, in the prompt and while decoding
        Arguments.of(
            "mistral-sliding-window-3",
            TinyCheckpoints.llama(2).withArchitecture("MistralForCausalLM", false, 3)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("configs")
  void incrementalDecodingWithLeftPaddingEqualsFullRecomputation(String name, LlamaConfig c) {
    Map<String, FloatTensor> weights = TinyCheckpoints.random(c, 9);
    // row 0 has a 2-token prompt, left-padded to row 1's 4 tokens
    long[][] rows = {{0, 0, 1, 6}, {1, 9, 4, 13}};
    long[][] mask = {{0, 0, 1, 1}, {1, 1, 1, 1}};
    long[][] next = {{3, 8, 15}, {11, 2, 7}};
    try (NDManager m = NDManager.newBaseManager(Device.cpu());
        NDScope scope = new NDScope()) {
      scope.suppressNotUsedWarning();
      Map<String, NDArray> arrays = new LinkedHashMap<>();
      weights.forEach((k, v) -> arrays.put(k, m.create(v.data(), new Shape(v.shape()))));
      LlamaModel model = new LlamaModel(c, arrays);
      try (KvCache cache = model.newCache(2)) {
        float[] step = model.nextTokenLogits(flat(m, rows), flat(m, mask), cache).toFloatArray();
        for (int s = 0; s <= next[0].length; s++) {
          int t = rows[0].length + s;
          long[][] fullIds = new long[2][t];
          long[][] fullMask = new long[2][t];
          for (int r = 0; r < 2; r++) {
            for (int i = 0; i < t; i++) {
              fullIds[r][i] = i < rows[r].length ? rows[r][i] : next[r][i - rows[r].length];
              fullMask[r][i] = i < rows[r].length ? mask[r][i] : 1;
            }
          }
          NDArray full = model.logits(flat(m, fullIds), flat(m, fullMask));
          float[] last = full.get(":, " + (t - 1) + ", :").toFloatArray();
          for (int i = 0; i < last.length; i++) {
            assertEquals(last[i], step[i], 1e-4, name + " step " + s + " entry " + i);
          }
          if (s < next[0].length) {
            long[][] in = {{next[0][s]}, {next[1][s]}};
            step = model.nextTokenLogits(flat(m, in), null, cache).toFloatArray();
          }
        }
        assertEquals(rows[0].length + next[0].length, cache.length());
      }
    }
  }

  static NDArray flat(NDManager m, long[][] rows) {
    long[] out = new long[rows.length * rows[0].length];
    for (int r = 0; r < rows.length; r++) {
      System.arraycopy(rows[r], 0, out, r * rows[0].length, rows[0].length);
    }
    return m.create(out, new Shape(rows.length, rows[0].length));
  }
}
