package dev.evomerge.worker.merge;

import static dev.evomerge.worker.merge.MergeTestSupport.assertClose;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.merge.MergeStatistics.Kind;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** fisher and regmean against the spec's math on tensors small enough to check by hand. */
class DataDrivenMergeTest {
  private static MergeTestSupport s;
  private static final double EPS = 1e-5;

  @BeforeAll
  static void open() {
    s = new MergeTestSupport();
  }

  @AfterAll
  static void close() {
    s.close();
  }

  /** Statistics held in memory, keyed by kind, model and tensor. */
  static final class Stats implements MergeStatistics {
    final Map<String, FloatTensor> values = new HashMap<>();

    Stats put(Kind kind, String model, String tensor, long[] shape, float... data) {
      values.put(kind + "/" + model + "/" + tensor, new FloatTensor(shape, data));
      return this;
    }

    @Override
    public long[] shape(Kind kind, String model, String tensor) {
      FloatTensor t = values.get(kind + "/" + model + "/" + tensor);
      return t == null ? null : t.shape();
    }

    @Override
    public FloatTensor read(Kind kind, String model, String tensor) {
      return values.get(kind + "/" + model + "/" + tensor);
    }
  }

  private static float[] merge(
      String method,
      Shape shape,
      Map<String, ?> global,
      List<? extends Map<String, ?>> perModel,
      MergeStatistics stats,
      float[]... inputs) {
    MergeMethod m = MergeMethods.get(method);
    List<NDArray> arrays = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < inputs.length; i++) {
      arrays.add(s.manager.create(inputs[i], shape));
      names.add("m" + i);
    }
    ResolvedParams p = Params.resolve(m, global, perModel, 0, "t", names);
    try (NDManager out = s.manager.newSubManager()) {
      PreparedTensor t = MergeEngine.prepare(m, "t", names, arrays, null, stats);
      try {
        return MergeEngine.combine(m, t, p, out).toFloatArray();
      } finally {
        t.close();
      }
    }
  }

  private static final long[] V3 = {3};

  @Test
  void fisherWeighsEachEntryByItsFisherInformation() {
    float[] x1 = {1, 2, 3};
    float[] x2 = {3, 6, -1};
    Stats f =
        new Stats()
            .put(Kind.FISHER, "m0", "t", V3, 1, 0, 3)
            .put(Kind.FISHER, "m1", "t", V3, 3, 1, 1);
    // (F1 x1 + F2 x2) / (F1 + F2): [(1 + 9) / 4, (0 + 6) / 1, (9 - 1) / 4]
    float[] equal = merge("fisher", new Shape(3), Map.of(), List.of(Map.of(), Map.of()), f, x1, x2);
    assertClose(new double[] {2.5, 6, 2}, equal, EPS);
    // w = [2, 1]: [(2 + 9) / (2 + 3), 6 / 1, (18 - 1) / (6 + 1)]
    float[] weighted =
        merge(
            "fisher", new Shape(3), Map.of(), List.of(Map.of("weight", 2.0), Map.of()), f, x1, x2);
    assertClose(new double[] {11.0 / 5, 6, 17.0 / 7}, weighted, EPS);
  }

  @Test
  void fisherWithoutInformationIsTheWeightedAverage() {
    float[] x1 = {1, -2, 4};
    float[] x2 = {5, 2, 0};
    Stats f =
        new Stats()
            .put(Kind.FISHER, "m0", "t", V3, 0, 0, 0)
            .put(Kind.FISHER, "m1", "t", V3, 0, 0, 0);
    float[] out =
        merge(
            "fisher", new Shape(3), Map.of(), List.of(Map.of("weight", 3.0), Map.of()), f, x1, x2);
    assertClose(new double[] {2, -1, 3}, out, EPS);
  }

  @Test
  void fisherNamesTheModelAndTensorOfMissingOrMisShapedStatistics() {
    float[] x = {1, 2, 3};
    Stats missing = new Stats().put(Kind.FISHER, "m0", "t", V3, 1, 1, 1);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                merge(
                    "fisher", new Shape(3), Map.of(), List.of(Map.of(), Map.of()), missing, x, x));
    assertTrue(e.getMessage().contains("model m1, tensor t"), e.getMessage());
    Stats wrong =
        new Stats()
            .put(Kind.FISHER, "m0", "t", V3, 1, 1, 1)
            .put(Kind.FISHER, "m1", "t", new long[] {2}, 1, 1);
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                merge("fisher", new Shape(3), Map.of(), List.of(Map.of(), Map.of()), wrong, x, x));
    assertTrue(
        e.getMessage().contains("model m1, tensor t has shape [2], expected [3]"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                merge(
                    "fisher",
                    new Shape(3),
                    Map.of(),
                    List.of(Map.of("weight", -1.0), Map.of()),
                    missing,
                    x,
                    x));
    assertTrue(e.getMessage().contains("Invalid weight for model m0"), e.getMessage());
  }

  @Test
  void regmeanOfOneModelWithAlphaOneReturnsIt() {
    float[] w = randoms(1, 6); // [out 3, in 2]
    float[] g = gram(randoms(2, 10), 5, 2);
    Stats st = new Stats().put(Kind.GRAM, "m0", "t", new long[] {2, 2}, g);
    float[] out = merge("regmean", new Shape(3, 2), Map.of("alpha", 1.0), List.of(Map.of()), st, w);
    assertClose(w, out, 1e-4);
  }

  @Test
  void regmeanWithIdenticalGramMatricesIsTheWeightedAverage() {
    float[] w1 = randoms(3, 6);
    float[] w2 = randoms(4, 6);
    float[] g = gram(randoms(5, 12), 4, 3); // in = 3
    long[] gs = {3, 3};
    Stats st = new Stats().put(Kind.GRAM, "m0", "t", gs, g).put(Kind.GRAM, "m1", "t", gs, g);
    float[] out =
        merge(
            "regmean",
            new Shape(2, 3),
            Map.of("alpha", 0.3),
            List.of(Map.of("weight", 1.0), Map.of("weight", 3.0)),
            st,
            w1,
            w2);
    float[] expected = new float[6];
    for (int i = 0; i < 6; i++) {
      expected[i] = (w1[i] + 3 * w2[i]) / 4;
    }
    assertClose(expected, out, 1e-4);
  }

  @Test
  void regmeanSolvesTheRegressionByHand() {
    // W1 = [1, 2], W2 = [3, -1] ([out 1, in 2]); G1 = [[2, 1], [1, 1]], G2 = [[1, 0], [0, 3]].
    float[] w1 = {1, 2};
    float[] w2 = {3, -1};
    long[] gs = {2, 2};
    Stats st =
        new Stats()
            .put(Kind.GRAM, "m0", "t", gs, 2, 1, 1, 1)
            .put(Kind.GRAM, "m1", "t", gs, 1, 0, 0, 3);
    // alpha 1: A = [[3, 1], [1, 4]], A^-1 = [[4, -1], [-1, 3]] / 11; B = G1 W1^T + G2 W2^T
    // = [4, 3] + [3, -3] = [7, 0]; W* = [28, -7] / 11
    float[] full =
        merge(
            "regmean",
            new Shape(1, 2),
            Map.of("alpha", 1.0),
            List.of(Map.of(), Map.of()),
            st,
            w1,
            w2);
    assertClose(new double[] {28.0 / 11, -7.0 / 11}, full, EPS);
    // alpha 0.5 halves G1's off-diagonals: A = [[3, .5], [.5, 4]] (det 11.75),
    // B = [2 + 1, .5 + 2] + [3, -3] = [6, -.5]; W* = [4 * 6 + .25, -3 - 3 * .5] / 11.75
    float[] half =
        merge(
            "regmean",
            new Shape(1, 2),
            Map.of("alpha", 0.5),
            List.of(Map.of(), Map.of()),
            st,
            w1,
            w2);
    assertClose(new double[] {24.25 / 11.75, -4.5 / 11.75}, half, EPS);
  }

  @Test
  void regmeanAveragesTensorsWithoutGramMatrices() {
    float[] n1 = {1, 2, 3};
    float[] n2 = {3, 2, 7};
    float[] out =
        merge(
            "regmean",
            new Shape(3),
            Map.of(),
            List.of(Map.of("weight", 1.0), Map.of("weight", 3.0)),
            new Stats(),
            n1,
            n2);
    assertClose(new double[] {2.5, 2, 6}, out, EPS);
  }

  @Test
  void regmeanNamesTheModelWithoutAGramMatrixAndBadShapes() {
    float[] w = {1, 2, 3, 4};
    Shape shape = new Shape(2, 2);
    Stats partial = new Stats().put(Kind.GRAM, "m0", "t", new long[] {2, 2}, 1, 0, 0, 1);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> merge("regmean", shape, Map.of(), List.of(Map.of(), Map.of()), partial, w, w));
    assertTrue(e.getMessage().contains("No Gram matrix for model m1, tensor t"), e.getMessage());
    Stats wrong =
        new Stats()
            .put(Kind.GRAM, "m0", "t", new long[] {2, 2}, 1, 0, 0, 1)
            .put(Kind.GRAM, "m1", "t", new long[] {1, 4}, 1, 0, 0, 1);
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> merge("regmean", shape, Map.of(), List.of(Map.of(), Map.of()), wrong, w, w));
    assertTrue(
        e.getMessage().contains("model m1, tensor t has shape [1, 4], expected [2, 2]"),
        e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> merge("regmean", shape, Map.of("alpha", 1.5), List.of(Map.of()), partial, w));
    assertTrue(e.getMessage().contains("Invalid alpha for regmean"), e.getMessage());
  }

  @Test
  void statisticsFolderStoresAndServesFisherPerModel(@TempDir Path tmp) {
    Configuration conf = new Configuration();
    String d0 = tmp.resolve("a").toUri().toString();
    String d1 = tmp.resolve("b").toUri().toString();
    StatisticsFolder.write(
        d0, Kind.FISHER, Map.of("t", new FloatTensor(V3, new float[] {1, 0, 3})), conf);
    StatisticsFolder.write(
        d1, Kind.FISHER, Map.of("t", new FloatTensor(V3, new float[] {3, 1, 1})), conf);
    StatisticsFolder stats =
        StatisticsFolder.open(Map.of("m0", d0, "m1", d1), Set.of(Kind.FISHER), conf);
    float[] out =
        merge(
            "fisher",
            new Shape(3),
            Map.of(),
            List.of(Map.of(), Map.of()),
            stats,
            new float[] {1, 2, 3},
            new float[] {3, 6, -1});
    assertClose(new double[] {2.5, 6, 2}, out, EPS);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> StatisticsFolder.open(Map.of("m0", d0), Set.of(Kind.GRAM), conf));
    assertTrue(e.getMessage().contains("Cannot open Gram matrix of model m0"), e.getMessage());
  }

  /** {@code X^T X} of a row-major {@code [rows, cols]} X. */
  @Test
  void blockDiagonalRegmeanIsRegmeanWithTheOffBlockEntriesZero() {
    // [out 3, in 4], blocks of 2: the stored [2, 2, 2] against the full [4, 4] with zeros
    float[] w1 = randoms(21, 12);
    float[] w2 = randoms(22, 12);
    float[][] full = {gram(randoms(23, 24), 6, 4), gram(randoms(24, 24), 6, 4)};
    Stats zeroed = new Stats();
    Stats blocked = new Stats();
    for (int m = 0; m < 2; m++) {
      float[] z = new float[16];
      float[] b = new float[8];
      for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
          if (i / 2 == j / 2) {
            z[i * 4 + j] = full[m][i * 4 + j];
            b[(i / 2) * 4 + (i % 2) * 2 + j % 2] = full[m][i * 4 + j];
          }
        }
      }
      zeroed.put(Kind.GRAM, "m" + m, "t", new long[] {4, 4}, z);
      blocked.put(Kind.GRAM, "m" + m, "t", new long[] {2, 2, 2}, b);
    }
    List<Map<String, Object>> perModel = List.of(Map.of("weight", 1.0), Map.of("weight", 2.0));
    Map<String, Object> alpha = Map.of("alpha", 0.4);
    float[] expected = merge("regmean", new Shape(3, 4), alpha, perModel, zeroed, w1, w2);
    float[] got = merge("regmean", new Shape(3, 4), alpha, perModel, blocked, w1, w2);
    assertClose(expected, got, 1e-4);
  }

  static float[] gram(float[] x, int rows, int cols) {
    float[] g = new float[cols * cols];
    for (int i = 0; i < cols; i++) {
      for (int j = 0; j < cols; j++) {
        double sum = 0;
        for (int r = 0; r < rows; r++) {
          sum += x[r * cols + i] * x[r * cols + j];
        }
        g[i * cols + j] = (float) sum;
      }
    }
    return g;
  }

  static float[] randoms(long seed, int n) {
    Random r = new Random(seed);
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) r.nextGaussian();
    }
    return out;
  }
}
