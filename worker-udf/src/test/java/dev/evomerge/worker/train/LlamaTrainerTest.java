package dev.evomerge.worker.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.HfModelWriter;
import dev.evomerge.worker.model.GarbageCollections;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.LlamaModel;
import dev.evomerge.worker.model.ModelWeights;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlamaTrainerTest {
  @TempDir Path dir;

  private static final LlamaConfig TINY =
      new LlamaConfig("LlamaForCausalLM", 12, 16, 32, 2, 4, 2, 4, 1e-5, 10000.0, false, 1, 2);

  /** Counting sequences mod 9 (ids 3..11) from random starts: learnable in a few steps. */
  private static List<long[]> counting(long seed, int n) {
    SplittableRandom r = new SplittableRandom(seed);
    List<long[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int len = 6 + r.nextInt(6);
      long[] s = new long[len];
      s[0] = 1;
      int start = r.nextInt(9);
      for (int t = 1; t < len; t++) {
        s[t] = 3 + (start + t) % 9;
      }
      out.add(s);
    }
    return out;
  }

  @Test
  void reducesTheLossOnATinyConfigInAFewSteps() {
    List<long[]> data = counting(1, 64);
    TrainOptions options = new TrainOptions(40, 16, 1e-2, 4, 0.0, 3);
    LlamaTrainer.Result r =
        LlamaTrainer.train(TINY, LlamaTrainer.initialWeights(TINY, 5), data, options, null);
    assertEquals(40, r.losses().length);
    // uniform guessing over 12 tokens is log 12 = 2.48 nats
    assertTrue(r.firstLoss() > 2.0, "first loss " + r.firstLoss());
    assertTrue(r.finalLoss(5) < 0.5 * r.firstLoss(), "final loss " + r.finalLoss(5));
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      Map<String, NDArray> w = new java.util.LinkedHashMap<>();
      r.weights().forEach((k, v) -> w.put(k, m.create(v.data(), new Shape(v.shape()))));
      double held = LlamaTrainer.loss(new LlamaModel(TINY, w), m, counting(99, 16));
      assertTrue(held < 0.5 * r.firstLoss(), "held-out loss " + held);
    }
  }

  @Test
  void isDeterministicFromTheSeeds() {
    List<long[]> data = counting(1, 32);
    TrainOptions options = new TrainOptions(5, 8, 1e-2, 1, 0.01, 3);
    LlamaTrainer.Result a =
        LlamaTrainer.train(TINY, LlamaTrainer.initialWeights(TINY, 5), data, options, null);
    LlamaTrainer.Result b =
        LlamaTrainer.train(TINY, LlamaTrainer.initialWeights(TINY, 5), data, options, null);
    assertArrayEquals(a.losses(), b.losses());
    LlamaTrainer.Result c =
        LlamaTrainer.train(
            TINY,
            LlamaTrainer.initialWeights(TINY, 5),
            data,
            new TrainOptions(5, 8, 1e-2, 1, 0.01, 4),
            null);
    assertNotEquals(a.losses()[0], c.losses()[0]);
  }

  @Test
  void isDeterministicWhileTheJvmCollectsGarbage() throws Exception {
    // a backward pass that read a tensor over a freed Java buffer (the attention scale, once)
    // made the loss curve depend on when the collector ran
    List<long[]> data = counting(1, 64);
    TrainOptions options = new TrainOptions(20, 8, 1e-2, 4, 0.01, 3);
    double[] quiet =
        LlamaTrainer.train(TINY, LlamaTrainer.initialWeights(TINY, 5), data, options, null)
            .losses();
    try (GarbageCollections gc = GarbageCollections.every(2)) {
      for (int run = 0; run < 2; run++) {
        LlamaTrainer.Result r =
            LlamaTrainer.train(TINY, LlamaTrainer.initialWeights(TINY, 5), data, options, null);
        assertArrayEquals(quiet, r.losses(), "run " + run);
      }
    }
  }

  @Test
  void aTrainedCheckpointRoundTripsAndTheRuntimeGivesTheTrainersLogits() {
    List<long[]> data = counting(2, 32);
    LlamaTrainer.Result r =
        LlamaTrainer.train(
            TINY,
            LlamaTrainer.initialWeights(TINY, 7),
            data,
            new TrainOptions(10, 8, 1e-2, 2, 0.01, 1),
            null);
    Path out = dir.resolve("trained");
    HfModelWriter.write(
        new org.apache.hadoop.fs.Path(out.toUri()),
        new Configuration(),
        TINY.toJson(new ObjectMapper().createObjectNode()),
        r.weights(),
        DType.F32,
        List.of());
    HfModelFolder folder = HfModelFolder.open(out.toUri().toString(), new Configuration());
    LlamaConfig loaded = ModelWeights.config(folder);
    assertEquals(TINY, loaded);
    for (Map.Entry<String, FloatTensor> e : r.weights().entrySet()) {
      assertEquals(e.getValue(), folder.readFloat(e.getKey()), e.getKey());
    }
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      LlamaModel model = new LlamaModel(loaded, ModelWeights.load(folder, loaded, m));
      long[] first = data.get(0);
      float[] logits = model.logits(m.create(first, new Shape(1, first.length))).toFloatArray();
      assertArrayEquals(r.firstLogits(), logits, 1e-5f);
    }
  }

  @Test
  void refusesTokensOutsideTheVocabulary() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                LlamaTrainer.train(
                    TINY,
                    LlamaTrainer.initialWeights(TINY, 1),
                    List.of(new long[] {1, 3, 12}),
                    new TrainOptions(1, 1, 1e-3, 0, 0, 1),
                    null));
    assertTrue(e.getMessage().contains("token id 12"), e.getMessage());
  }
}
