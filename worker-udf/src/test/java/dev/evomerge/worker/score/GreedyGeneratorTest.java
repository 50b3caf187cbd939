package dev.evomerge.worker.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.LlamaModel;
import dev.evomerge.worker.model.TinyCheckpoints;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GreedyGeneratorTest {
  @Test
  void cachedBatchedDecodingEqualsRecomputingEachPromptFromScratch() {
    LlamaConfig c =
        new LlamaConfig(
            "MistralForCausalLM",
            BigramFixture.VOCAB,
            16,
            24,
            2,
            4,
            2,
            4,
            1e-5,
            10000.0,
            true,
            1,
            2);
    Map<String, FloatTensor> weights = TinyCheckpoints.random(c, 11);
    List<long[]> prompts =
        List.of(
            new long[] {1, 5, 9},
            new long[] {1, 4},
            new long[] {1, 12, 3, 7, 8, 6},
            new long[] {1});
    int steps = 8;
    try (NDManager m = NDManager.newBaseManager(Device.cpu());
        NDScope scope = new NDScope();
        TextTokenizer tokenizer = BigramFixture.tokenizer(true)) {
      scope.suppressNotUsedWarning();
      Map<String, NDArray> arrays = new LinkedHashMap<>();
      weights.forEach((k, v) -> arrays.put(k, m.create(v.data(), new Shape(v.shape()))));
      LlamaModel model = new LlamaModel(c, arrays);
      List<long[]> expected = new ArrayList<>();
      for (long[] p : prompts) {
        long[] seq = p;
        List<Long> out = new ArrayList<>();
        for (int s = 0; s < steps; s++) {
          float[] logits =
              model
                  .logits(m.create(seq, new Shape(1, seq.length)))
                  .get("0, " + (seq.length - 1) + ", :")
                  .toFloatArray();
          int best = 0;
          for (int v = 1; v < logits.length; v++) {
            best = logits[v] > logits[best] ? v : best;
          }
          if (best == tokenizer.eosTokenId()) {
            break;
          }
          out.add((long) best);
          seq = Arrays.copyOf(seq, seq.length + 1);
          seq[seq.length - 1] = best;
        }
        expected.add(out.stream().mapToLong(Long::longValue).toArray());
      }
      assertTrue(
          expected.stream().filter(e -> e.length >= 4).count() >= 2,
          "the fixture must generate beyond a token or two");
      for (int batch : new int[] {1, 3, 4}) {
        List<long[]> got =
            GreedyGenerator.generateIds(model, m, tokenizer, prompts, steps, List.of(), batch);
        for (int i = 0; i < prompts.size(); i++) {
          assertArrayEquals(expected.get(i), got.get(i), "prompt " + i + ", batch size " + batch);
        }
      }
    }
  }
}
