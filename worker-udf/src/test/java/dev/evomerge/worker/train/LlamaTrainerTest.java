package dev.evomerge.worker.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.HfModelWriter;
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

  /**
   * The gradients of one batch, with or without a garbage collection between the forward and the
   * backward pass: a tensor the backward pass reads must not live in memory the JVM can free (DJL's
   * {@code mul(Number)} made the attention scale such a tensor, and two zoo trainings with one seed
   * diverged whenever the collector ran mid-step).
   */
  @Test
  void gradientsDoNotDependOnTheGarbageCollector() throws InterruptedException {
    List<long[]> data = counting(4, 8);
    float[][] quiet = gradients(data, false);
    for (int i = 0; i < 3; i++) {
      float[][] collected = gradients(data, true);
      for (int k = 0; k < quiet.length; k++) {
        assertArrayEquals(quiet[k], collected[k], "tensor " + k + ", try " + i);
      }
    }
  }

  private static float[][] gradients(List<long[]> data, boolean collect)
      throws InterruptedException {
    Map<String, FloatTensor> init = LlamaTrainer.initialWeights(TINY, 5);
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      Map<String, NDArray> w = new java.util.LinkedHashMap<>();
      init.forEach(
          (k, v) -> {
            NDArray x = m.create(v.data(), new Shape(v.shape()));
            x.setRequiresGradient(true);
            w.put(k, x);
          });
      LlamaModel model = new LlamaModel(TINY, w);
      long[] ids = new long[data.size() * 6];
      for (int r = 0; r < data.size(); r++) {
        System.arraycopy(data.get(r), 0, ids, r * 6, 6);
      }
      try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
        NDArray loss = model.logits(m.create(ids, new Shape(data.size(), 6))).logSoftmax(-1).mean();
        if (collect) {
          // frees what nothing references any more (direct buffers go with their cleaner)
          System.gc();
          Thread.sleep(50);
        }
        c.backward(loss);
      }
      float[][] out = new float[w.size()][];
      int k = 0;
      for (NDArray x : w.values()) {
        out[k++] = x.getGradient().toFloatArray();
      }
      return out;
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
