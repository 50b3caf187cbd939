package dev.evomerge.worker.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.merge.MergeStatistics;
import dev.evomerge.worker.merge.StatisticsFolder;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.LlamaModel;
import dev.evomerge.worker.model.TinyCheckpoints;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatisticsComputerTest {
  @TempDir Path dir;

  private static final LlamaConfig CONFIG = TinyCheckpoints.llama(2);
  private static final LlamaConfig TIED =
      new LlamaConfig("LlamaForCausalLM", 20, 16, 24, 1, 4, 2, 4, 1e-5, 10000.0, true, 1, 2);

  private static List<long[]> sequences(long seed, int n) {
    SplittableRandom r = new SplittableRandom(seed);
    List<long[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long[] s = new long[3 + r.nextInt(5)];
      s[0] = 1;
      for (int t = 1; t < s.length; t++) {
        s[t] = 3 + r.nextInt(17);
      }
      out.add(s);
    }
    return out;
  }

  private static Map<String, NDArray> arrays(NDManager m, Map<String, FloatTensor> weights) {
    Map<String, NDArray> out = new LinkedHashMap<>();
    weights.forEach((n, t) -> out.put(n, m.create(t.data(), new Shape(t.shape()))));
    return out;
  }

  private static ModelStatistics compute(
      LlamaConfig config, Map<String, FloatTensor> weights, List<long[]> seqs) {
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      return StatisticsComputer.compute(
          config, arrays(m, weights), seqs, StatisticsOptions.both(16), "tiny");
    }
  }

  /** Sum of log p(s[t+1] | s[..t]) with one weight entry replaced, without autograd. */
  private static double logLikelihood(
      LlamaConfig config,
      Map<String, FloatTensor> weights,
      String name,
      int index,
      float value,
      long[] s) {
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      Map<String, FloatTensor> w = new LinkedHashMap<>(weights);
      float[] d = weights.get(name).data().clone();
      d[index] = value;
      w.put(name, new FloatTensor(weights.get(name).shape(), d));
      LlamaModel model = new LlamaModel(config, arrays(m, w));
      long[] in = new long[s.length - 1];
      System.arraycopy(s, 0, in, 0, in.length);
      float[] logp = model.logProbs(m.create(in, new Shape(1, in.length))).toFloatArray();
      int v = config.vocabSize();
      double sum = 0;
      for (int t = 0; t < in.length; t++) {
        sum += logp[t * v + (int) s[t + 1]];
      }
      return sum;
    }
  }

  @Test
  void fisherIsTheMeanSquaredFiniteDifferenceGradient() {
    Map<String, FloatTensor> weights = TinyCheckpoints.random(CONFIG, 3);
    List<long[]> seqs = sequences(5, 2);
    ModelStatistics stats = compute(CONFIG, weights, seqs);
    assertEquals(2, stats.sequences());
    Map<String, FloatTensor> fisher = stats.fisher();
    assertEquals(weights.keySet(), fisher.keySet());
    double eps = 1e-3;
    for (String name :
        List.of(
            "model.embed_tokens.weight",
            "model.layers.0.self_attn.q_proj.weight",
            "model.layers.1.self_attn.v_proj.weight",
            "model.layers.0.mlp.down_proj.weight",
            "model.layers.1.input_layernorm.weight",
            "model.norm.weight",
            "lm_head.weight")) {
      float[] f = fisher.get(name).data();
      assertArrayEquals(weights.get(name).shape(), fisher.get(name).shape(), name);
      int best = 0;
      for (int i = 1; i < f.length; i++) {
        best = f[i] > f[best] ? i : best;
      }
      // the largest entry and one more, chosen by the seed, each checked against central
      // differences of every sequence's log-likelihood
      for (int index : new int[] {best, new SplittableRandom(name.hashCode()).nextInt(f.length)}) {
        float x = weights.get(name).data()[index];
        double expected = 0;
        for (long[] s : seqs) {
          double g =
              (logLikelihood(CONFIG, weights, name, index, (float) (x + eps), s)
                      - logLikelihood(CONFIG, weights, name, index, (float) (x - eps), s))
                  / (2 * eps);
          expected += g * g / seqs.size();
        }
        assertEquals(expected, f[index], 0.02 * expected + 1e-4, name + "[" + index + "]");
      }
      assertTrue(f[best] > 1e-3, name + " has a Fisher of " + f[best]);
    }
  }

  @Test
  void gramIsXtXOfTheCapturedLayerInputs() {
    Map<String, FloatTensor> weights = TinyCheckpoints.random(TIED, 4);
    List<long[]> seqs = sequences(6, 3);
    ModelStatistics stats = compute(TIED, weights, seqs);
    // every 2-D tensor but the embedding; a tied head's Gram under the embedding's name
    assertEquals(StatisticsComputer.linearLayers(TIED).keySet(), stats.gramSum().keySet());
    assertTrue(stats.gramSum().containsKey("model.embed_tokens.weight"));
    assertEquals(7 + 1, stats.gramSum().size());
    Map<String, double[]> expected = new LinkedHashMap<>();
    long tokens = 0;
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      LlamaModel model = new LlamaModel(TIED, arrays(m, weights));
      for (long[] s : seqs) {
        long[] in = new long[s.length - 1];
        System.arraycopy(s, 0, in, 0, in.length);
        tokens += in.length;
        try (NDScope scope = new NDScope()) {
          Map<String, float[]> captured = new LinkedHashMap<>();
          model.observeLinearInputs((name, x) -> captured.put(name, x.toFloatArray()));
          model.logits(m.create(in, new Shape(1, in.length)));
          captured.forEach(
              (name, x) -> {
                int d = x.length / in.length;
                double[] g = expected.computeIfAbsent(name, k -> new double[d * d]);
                for (int t = 0; t < in.length; t++) {
                  for (int i = 0; i < d; i++) {
                    for (int j = 0; j < d; j++) {
                      g[i * d + j] += (double) x[t * d + i] * x[t * d + j];
                    }
                  }
                }
              });
        }
      }
    }
    assertEquals(tokens, stats.tokens());
    assertEquals(expected.keySet(), stats.gramSum().keySet());
    expected.forEach(
        (name, g) -> {
          float[] got = stats.gramSum().get(name).data();
          int d = (int) Math.round(Math.sqrt(g.length));
          assertArrayEquals(new long[] {d, d}, stats.gramSum().get(name).shape(), name);
          for (int i = 0; i < g.length; i++) {
            assertEquals(g[i], got[i], 1e-4 * (1 + Math.abs(g[i])), name + "[" + i + "]");
          }
        });
  }

  @Test
  void shardsAddUpToTheWholeAndWriteAStatisticsFolder() {
    Map<String, FloatTensor> weights = TinyCheckpoints.random(CONFIG, 7);
    List<long[]> all = sequences(8, 5);
    ModelStatistics whole = compute(CONFIG, weights, all);
    ModelStatistics sum =
        compute(CONFIG, weights, all.subList(0, 2))
            .plus(compute(CONFIG, weights, all.subList(2, 5)));
    assertEquals(whole.sequences(), sum.sequences());
    assertEquals(whole.tokens(), sum.tokens());
    assertClose(whole.fisherSum(), sum.fisherSum());
    assertClose(whole.gramSum(), sum.gramSum());
    String folder = dir.resolve("stats").toString();
    Configuration conf = new Configuration();
    whole.write(folder, conf);
    StatisticsFolder read =
        StatisticsFolder.open(Map.of("a", folder), EnumSet.allOf(MergeStatistics.Kind.class), conf);
    String q = "model.layers.0.self_attn.q_proj.weight";
    assertArrayEquals(whole.fisher().get(q).data(), read.fisher("a", q).data());
    assertArrayEquals(whole.gramSum().get(q).data(), read.gram("a", q).data());
    assertArrayEquals(new long[] {16, 16}, read.shape(MergeStatistics.Kind.GRAM, "a", q));
  }

  static void assertClose(Map<String, FloatTensor> expected, Map<String, FloatTensor> actual) {
    assertEquals(expected.keySet(), actual.keySet());
    expected.forEach(
        (name, t) -> {
          assertArrayEquals(t.shape(), actual.get(name).shape(), name);
          float[] a = t.data();
          float[] b = actual.get(name).data();
          for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i], 1e-4 * (1 + Math.abs(a[i])), name + "[" + i + "]");
          }
        });
  }

  @Test
  void rejectsGramsOverTheBoundAndBadSequencesBeforeComputing() {
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      Map<String, NDArray> w = arrays(m, TinyCheckpoints.random(CONFIG, 1));
      IllegalArgumentException big =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  StatisticsComputer.compute(
                      CONFIG,
                      w,
                      sequences(1, 1),
                      new StatisticsOptions(false, true, 16, 1000),
                      "tiny"));
      // 2 layers x (q,k,v,o,gate,up: 16^2; down: 24^2) + lm_head 16^2, 4 bytes each
      long need = 4L * (2 * (6 * 256 + 576) + 256);
      assertTrue(big.getMessage().contains(need + " bytes"), big.getMessage());
      assertTrue(big.getMessage().contains("down_proj.weight, 2304 bytes"), big.getMessage());
      IllegalArgumentException token =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  StatisticsComputer.compute(
                      CONFIG, w, List.of(new long[] {1, 25}), StatisticsOptions.both(16), "tiny"));
      assertTrue(token.getMessage().contains("token id 25"), token.getMessage());
    }
  }

  @Test
  void blockedGramIsTheDiagonalBlocksOfTheFullOneWithinItsBound() {
    Map<String, FloatTensor> weights = TinyCheckpoints.random(CONFIG, 9);
    List<long[]> seqs = sequences(4, 3);
    ModelStatistics full = compute(CONFIG, weights, seqs);
    StatisticsOptions blocked = new StatisticsOptions(false, true, 16, 1L << 20, 8);
    ModelStatistics part;
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      part = StatisticsComputer.compute(CONFIG, arrays(m, weights), seqs, blocked, "tiny");
      // 2 layers x (6 x 16 + 24) x 8 + lm_head 16 x 8, 4 bytes each
      assertEquals(
          4L * (2 * (6 * 16 + 24) * 8 + 16 * 8),
          StatisticsComputer.checkGramMemory(CONFIG, blocked, "tiny"));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  StatisticsComputer.checkGramMemory(
                      CONFIG, new StatisticsOptions(false, true, 16, 1L << 20, 5), "tiny"));
      assertTrue(
          e.getMessage().contains("Gram block 5 does not divide the 16 inputs"), e.getMessage());
    }
    assertEquals(full.gramSum().keySet(), part.gramSum().keySet());
    full.gramSum()
        .forEach(
            (name, g) -> {
              int in = (int) g.shape()[0];
              FloatTensor p = part.gramSum().get(name);
              assertArrayEquals(new long[] {in / 8, 8, 8}, p.shape(), name);
              for (int blk = 0; blk < in / 8; blk++) {
                for (int i = 0; i < 8; i++) {
                  for (int j = 0; j < 8; j++) {
                    float want = g.data()[(blk * 8 + i) * in + blk * 8 + j];
                    assertEquals(
                        want,
                        p.data()[(blk * 8 + i) * 8 + j],
                        1e-4 * (1 + Math.abs(want)),
                        name + " block " + blk);
                  }
                }
              }
            });
  }
}
