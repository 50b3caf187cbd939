package dev.evomerge.worker.merge;

import static dev.evomerge.worker.merge.MergeTestSupport.assertClose;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.evomerge.worker.merge.DataDrivenMergeTest.Stats;
import dev.evomerge.worker.merge.MergeStatistics.Kind;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A population of linear combinations merged: against the method applied to the individuals. */
class PopulationMergeTest {
  private static MergeTestSupport s;

  @BeforeAll
  static void open() {
    s = new MergeTestSupport();
  }

  @AfterAll
  static void close() {
    s.close();
  }

  private static final List<String> SOURCES = List.of("m0", "m1", "m2");
  private static final double[][] C = {{0.7, 0.2, 0.1}, {0, 1, 0.5}, {0.3, 0.3, 0.3}};

  /** The population merge of {@code sources} (one array per source) with {@code c}. */
  private static float[] population(
      String method,
      Map<String, Object> global,
      Shape shape,
      Stats stats,
      double[][] c,
      float[]... sources) {
    MergeMethod m = MergeMethods.get(method);
    List<NDArray> arrays = new ArrayList<>();
    for (float[] x : sources) {
      arrays.add(s.manager.create(x, shape));
    }
    try (NDManager out = s.manager.newSubManager()) {
      PreparedTensor t = MergeEngine.prepare(m, "t", SOURCES, arrays, null, stats);
      try {
        return PopulationMerge.combine(m, global, t, c, out).toFloatArray();
      } finally {
        t.close();
      }
    }
  }

  /** The plain merge by {@code method} of {@code inputs}, each weight 1, model i's statistics. */
  private static float[] plain(
      String method, Map<String, Object> global, Shape shape, Stats stats, float[]... inputs) {
    MergeMethod m = MergeMethods.get(method);
    List<NDArray> arrays = new ArrayList<>();
    List<Map<String, Object>> perModel = new ArrayList<>();
    for (float[] x : inputs) {
      arrays.add(s.manager.create(x, shape));
      perModel.add(Map.of("weight", 1.0));
    }
    ResolvedParams p = Params.resolve(m, global, perModel, 0, "t", SOURCES);
    try (NDManager out = s.manager.newSubManager()) {
      PreparedTensor t = MergeEngine.prepare(m, "t", SOURCES, arrays, null, stats);
      try {
        return MergeEngine.combine(m, t, p, out).toFloatArray();
      } finally {
        t.close();
      }
    }
  }

  /** {@code x_i = sum_k c_ik theta_k}, in plain Java. */
  private static float[][] individuals(double[][] c, float[]... sources) {
    float[][] out = new float[c.length][sources[0].length];
    for (int i = 0; i < c.length; i++) {
      for (int k = 0; k < sources.length; k++) {
        for (int j = 0; j < sources[k].length; j++) {
          out[i][j] += (float) (c[i][k] * sources[k][j]);
        }
      }
    }
    return out;
  }

  @Test
  void fisherOfThePopulationWeighsEachIndividualBySourceFisher() {
    float[] a = {1, 2, 3};
    float[] b = {3, 6, -1};
    float[] c = {-2, 0, 4};
    long[] v3 = {3};
    Stats f =
        new Stats()
            .put(Kind.FISHER, "m0", "t", v3, 1, 0.5f, 3)
            .put(Kind.FISHER, "m1", "t", v3, 3, 1, 1)
            .put(Kind.FISHER, "m2", "t", v3, 0.1f, 2, 0.5f);
    float[][] x = individuals(C, a, b, c);
    float[][] fs = {{1, 0.5f, 3}, {3, 1, 1}, {0.1f, 2, 0.5f}};
    double[] expected = new double[3];
    for (int j = 0; j < 3; j++) {
      double num = 0;
      double den = 0;
      for (int i = 0; i < 3; i++) {
        num += fs[i][j] * x[i][j];
        den += fs[i][j];
      }
      expected[j] = num / den;
    }
    assertClose(expected, population("fisher", Map.of(), new Shape(3), f, C, a, b, c), 1e-5);
  }

  @Test
  void theIdentityPopulationIsThePlainMergeOfTheSources() {
    float[] a = DataDrivenMergeTest.randoms(1, 6);
    float[] b = DataDrivenMergeTest.randoms(2, 6);
    float[] c = DataDrivenMergeTest.randoms(3, 6);
    long[] gs = {3, 3};
    Stats g =
        new Stats()
            .put(
                Kind.GRAM,
                "m0",
                "t",
                gs,
                DataDrivenMergeTest.gram(DataDrivenMergeTest.randoms(4, 15), 5, 3))
            .put(
                Kind.GRAM,
                "m1",
                "t",
                gs,
                DataDrivenMergeTest.gram(DataDrivenMergeTest.randoms(5, 15), 5, 3))
            .put(
                Kind.GRAM,
                "m2",
                "t",
                gs,
                DataDrivenMergeTest.gram(DataDrivenMergeTest.randoms(6, 15), 5, 3));
    double[][] identity = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    Map<String, Object> alpha = Map.of("alpha", 0.3);
    Shape shape = new Shape(2, 3);
    assertClose(
        plain("regmean", alpha, shape, g, a, b, c),
        population("regmean", alpha, shape, g, identity, a, b, c),
        1e-4);
    // a general population: regmean over the individuals, individual i with source i's Gram
    float[][] x = individuals(C, a, b, c);
    assertClose(
        plain("regmean", alpha, shape, g, x[0], x[1], x[2]),
        population("regmean", alpha, shape, g, C, a, b, c),
        1e-4);
  }

  @Test
  void theAverageIsTheMeanOfTheIndividuals() {
    float[] a = {1, 2};
    float[] b = {4, -2};
    float[] c = {0, 8};
    float[][] x = individuals(C, a, b, c);
    double[] mean = new double[2];
    for (int j = 0; j < 2; j++) {
      mean[j] = (x[0][j] + x[1][j] + x[2][j]) / 3.0;
    }
    assertClose(
        mean,
        population("linear", Map.of("normalize", true), new Shape(2), new Stats(), C, a, b, c),
        1e-5);
  }

  @Test
  void aPopulationNeedsOneIndividualPerSource() {
    float[] a = {1, 2};
    double[][] two = {{1, 0, 0}, {0, 1, 0}};
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                population(
                    "linear", Map.of("normalize", true), new Shape(2), new Stats(), two, a, a, a));
    assertTrue(e.getMessage().contains("2 individuals for 3 sources"), e.getMessage());
  }
}
