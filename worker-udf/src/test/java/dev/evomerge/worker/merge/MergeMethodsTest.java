package dev.evomerge.worker.merge;

import static dev.evomerge.worker.merge.MergeTestSupport.assertClose;
import static dev.evomerge.worker.merge.MergeTestSupport.w;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every method on tensors small enough to check by hand; expected values follow the spec's math.
 */
class MergeMethodsTest {
  private static MergeTestSupport s;
  private static final double EPS = 1e-5;
  private static final double R = Math.sqrt(0.5);

  @BeforeAll
  static void open() {
    s = new MergeTestSupport();
  }

  @AfterAll
  static void close() {
    s.close();
  }

  @Test
  void linearIsTheNormalizedWeightedSum() {
    float[] x1 = {1, 2, 3, 4};
    float[] x2 = {3, 2, 1, 0};
    float[] out = s.merge("linear", Map.of(), List.of(w(1), w(3)), 0, null, x1, x2);
    assertClose(new double[] {2.5, 2, 1.5, 1}, out, EPS);
    float[] raw =
        s.merge("linear", Map.of("normalize", false), List.of(w(1), w(3)), 0, null, x1, x2);
    assertClose(new double[] {10, 8, 6, 4}, raw, EPS);
  }

  @Test
  void linearOfOneModelIsThatModel() {
    float[] x = {0.25f, -3, 7.5f};
    assertClose(x, s.merge("linear", Map.of(), List.of(w(0.7)), 0, null, x), 1e-6);
  }

  @Test
  void taskArithmeticAddsScaledTaskVectorsToTheBase() {
    float[] b = {1, 1, 1, 1};
    float[] x1 = {2, 0, 1, 3}; // d1 = 1 -1 0 2
    float[] x2 = {1, 3, 1, 0}; // d2 = 0 2 0 -1
    float[] out =
        s.merge("task_arithmetic", Map.of("lambda", 2.0), List.of(w(1), w(0.5)), 0, b, x1, x2);
    // sum w d = [1, 0, 0, 1.5]; b + 2 * that
    assertClose(new double[] {3, 1, 1, 4}, out, EPS);
    float[] norm =
        s.merge("task_arithmetic", Map.of("normalize", true), List.of(w(1), w(0.5)), 0, b, x1, x2);
    assertClose(new double[] {1 + 1 / 1.5, 1, 1, 1 + 1.5 / 1.5}, norm, EPS);
  }

  @Test
  void tiesTrimsElectsAndAveragesAgreeingEntries() {
    float[] b = {1, 1, 1, 1, 1, 1};
    // d1 = [3,-1,0.5,-2,4,0.1], d2 = [-1,2,1,-3,-5,0.2]; density 0.5 keeps 3 of 6 each:
    // d1 -> [3,0,0,-2,4,0], d2 -> [0,2,0,-3,-5,0]; w = [1,2]: e1 = d1, e2 = [0,4,0,-6,-10,0]
    // sum = [3,4,0,-8,-6,0] -> signs [+,+,+,-,-,+]; kept / kept weights:
    // [3/1, 4/2, 0/(0->1), (-2-6)/3, -10/2, 0]
    float[] x1 = plus(b, 3, -1, 0.5f, -2, 4, 0.1f);
    float[] x2 = plus(b, -1, 2, 1, -3, -5, 0.2f);
    List<Map<String, Object>> pm =
        List.of(Map.of("weight", 1.0, "density", 0.5), Map.of("weight", 2.0, "density", 0.5));
    float[] out = s.merge("ties", Map.of(), pm, 0, b, x1, x2);
    assertClose(new double[] {4, 3, 1, 1 - 8.0 / 3, -4, 1}, out, EPS);
    // without normalize the kept entries are summed: [3,4,0,-8,-10,0], lambda 0.5
    float[] raw = s.merge("ties", Map.of("normalize", false, "lambda", 0.5), pm, 0, b, x1, x2);
    assertClose(new double[] {2.5, 3, 1, -3, -4, 1}, raw, EPS);
  }

  @Test
  void tiesOnRandomTensorsFollowsTheSpecStepByStep() {
    // Three models, unequal densities and weights, with exact zeros and repeated magnitudes.
    int n = 3000;
    float[] b = randoms(40, n);
    float[][] x = new float[3][];
    for (int i = 0; i < 3; i++) {
      float[] r = randoms(41 + i, n);
      x[i] = new float[n];
      for (int j = 0; j < n; j++) {
        float d = j % 7 == 0 ? 0 : j % 11 == 0 ? 0.5f : r[j];
        x[i][j] = b[j] + d;
      }
    }
    double[] dens = {0.3, 0.55, 1.0};
    double[] wt = {0.7, 1.3, 0.4};
    for (boolean normalize : new boolean[] {true, false}) {
      double[] expected = new double[n];
      double[][] e = new double[3][n];
      for (int i = 0; i < 3; i++) {
        // Task vectors in float, as the engine computes them.
        float[] d = new float[n];
        double[] mag = new double[n];
        for (int j = 0; j < n; j++) {
          d[j] = x[i][j] - b[j];
          mag[j] = Math.abs(d[j]);
        }
        double[] sorted = mag.clone();
        java.util.Arrays.sort(sorted);
        int k = (int) Math.floor(dens[i] * n);
        double threshold = sorted[n - k]; // k-th largest; ties at it are kept
        for (int j = 0; j < n; j++) {
          e[i][j] = mag[j] >= threshold ? wt[i] * d[j] : 0;
        }
      }
      for (int j = 0; j < n; j++) {
        double sum = e[0][j] + e[1][j] + e[2][j];
        int sign = sum >= 0 ? 1 : -1;
        double kept = 0;
        double weights = 0;
        for (int i = 0; i < 3; i++) {
          if (e[i][j] != 0 && Math.signum(e[i][j]) == sign) {
            kept += e[i][j];
            weights += wt[i];
          }
        }
        double merged = normalize ? kept / (weights == 0 ? 1 : weights) : kept;
        expected[j] = b[j] + 0.8 * merged;
      }
      List<Map<String, Object>> pm = new java.util.ArrayList<>();
      for (int i = 0; i < 3; i++) {
        pm.add(Map.of("weight", wt[i], "density", dens[i]));
      }
      Map<String, Object> global = Map.of("normalize", normalize, "lambda", 0.8);
      assertClose(expected, s.merge("ties", global, pm, 0, b, x[0], x[1], x[2]), 1e-5);
    }
  }

  @Test
  void tiesWithANegativeWeightElectsOnWeightedEntries() {
    // e1 = [1,-2], e2 = -1 * [3,1] = [-3,-1]; sums [-2,-3] -> both negative.
    // pos0 keeps e2: -3 / -1 = 3; pos1 keeps both: -3 / (1 - 1 = 0 -> 1) = -3
    float[] out =
        s.merge(
            "ties",
            Map.of(),
            List.of(w(1), w(-1)),
            0,
            new float[2],
            new float[] {1, -2},
            new float[] {3, 1});
    assertClose(new double[] {3, -3}, out, EPS);
  }

  @Test
  void tiesWithDensityOneAndOneModelEqualsTaskArithmetic() {
    float[] b = randoms(1, 257);
    float[] x = randoms(2, 257);
    List<Map<String, Object>> pm = List.of(w(0.7));
    float[] ta = s.merge("task_arithmetic", Map.of("lambda", 1.5), pm, 0, b, x);
    float[] ties = s.merge("ties", Map.of("normalize", false, "lambda", 1.5), pm, 0, b, x);
    assertClose(ta, ties, 1e-5);
    float[] taUnit = s.merge("task_arithmetic", Map.of(), List.of(w(1)), 0, b, x);
    assertClose(taUnit, s.merge("ties", Map.of(), List.of(w(1)), 0, b, x), 1e-5);
  }

  @Test
  void dareKeepsAboutDensityOfTheEntries() {
    int n = 100_000;
    float[] b = new float[n];
    float[] x = randoms(3, n);
    List<Map<String, Object>> pm = List.of(Map.of("weight", 1.0, "density", 0.3));
    float[] out = s.merge("dare_linear", Map.of("rescale", false), pm, 42, b, x);
    int kept = 0;
    for (int i = 0; i < n; i++) {
      if (out[i] != 0) {
        kept++;
        assertEquals(x[i], out[i], 0, "kept entries are unchanged without rescale");
      }
    }
    assertEquals(0.3, kept / (double) n, 0.01);
  }

  @Test
  void dareRescalePreservesTheL1Norm() {
    int n = 50_000;
    float[] b = randoms(4, n);
    float[] x = randoms(5, n);
    List<Map<String, Object>> pm = List.of(Map.of("weight", 1.0, "density", 0.2));
    float[] out = s.merge("dare_linear", Map.of(), pm, 7, b, x);
    double before = 0;
    double after = 0;
    for (int i = 0; i < n; i++) {
      before += Math.abs(x[i] - b[i]);
      after += Math.abs(out[i] - b[i]);
    }
    assertEquals(before, after, before * 1e-3);
  }

  @Test
  void dareMasksAreReproducibleFromTheSeed() {
    float[] b = new float[4096];
    float[] x = randoms(6, 4096);
    List<Map<String, Object>> pm = List.of(Map.of("weight", 1.0, "density", 0.5));
    float[] a1 = s.merge("dare_ties", Map.of(), pm, 11, b, x);
    float[] a2 = s.merge("dare_ties", Map.of(), pm, 11, b, x);
    float[] other = s.merge("dare_ties", Map.of(), pm, 12, b, x);
    assertArrayEquals(a1, a2);
    assertFalse(java.util.Arrays.equals(a1, other));
    assertTrue(Seeds.forTensor(5, "a") != Seeds.forTensor(5, "b"));
  }

  @Test
  void dareTiesFollowsTheSpecOnTheDrawnMask() {
    // Recompute from the spec with the same uniform draws: keep u < density, L1 rescale, TIES.
    int n = 64;
    float[] b = randoms(7, n);
    float[] x1 = randoms(8, n);
    float[] x2 = randoms(9, n);
    double[] dens = {0.5, 0.8};
    double[] wt = {1.0, 0.5};
    float[] u;
    try (var m = s.manager.newSubManager()) {
      u = Ops.uniform(m, 99, 2, n).toFloatArray();
    }
    double[][] d = new double[2][n];
    for (int i = 0; i < 2; i++) {
      float[] x = i == 0 ? x1 : x2;
      double l1 = 0;
      double l1k = 0;
      for (int j = 0; j < n; j++) {
        double dj = x[j] - b[j];
        l1 += Math.abs(dj);
        d[i][j] = u[i * n + j] < dens[i] ? dj : 0;
        l1k += Math.abs(d[i][j]);
      }
      for (int j = 0; j < n; j++) {
        d[i][j] *= l1 / l1k;
      }
    }
    double[] expected = new double[n];
    for (int j = 0; j < n; j++) {
      double e1 = wt[0] * d[0][j];
      double e2 = wt[1] * d[1][j];
      double sign = e1 + e2 >= 0 ? 1 : -1;
      double sum = (e1 * sign > 0 ? e1 : 0) + (e2 * sign > 0 ? e2 : 0);
      expected[j] = b[j] + sum;
    }
    List<Map<String, Object>> pm =
        List.of(Map.of("weight", 1.0, "density", 0.5), Map.of("weight", 0.5, "density", 0.8));
    assertClose(expected, s.merge("dare_ties", Map.of(), pm, 99, b, x1, x2), 1e-4);
  }

  @Test
  void dellaKeepsLargeMagnitudesMoreOften() {
    // One row of 20000 entries, |d| rising with the index: keep prob = 0.5 - 0.4 + 0.8 r.
    int n = 20_000;
    float[] b = new float[n];
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (i % 2 == 0 ? 1 : -1) * (i + 1);
    }
    List<Map<String, Object>> pm = List.of(Map.of("weight", 1.0, "density", 0.5, "epsilon", 0.4));
    float[] out = s.merge("della_linear", Map.of("rescale", false), pm, 3, b, x);
    int low = 0;
    int high = 0;
    for (int i = 0; i < 2000; i++) {
      low += out[i] != 0 ? 1 : 0;
      high += out[n - 1 - i] != 0 ? 1 : 0;
    }
    assertEquals(0.14, low / 2000.0, 0.03); // mean r over the lowest decile ~ 0.05
    assertEquals(0.86, high / 2000.0, 0.03);
  }

  @Test
  void breadcrumbsDropsTheTopAndBottomBands() {
    float[] b = new float[10];
    float[] x = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10};
    // N=10, density 0.5 -> keep 5, gamma 0.2 -> drop top 2: keep |d| in {4..8}
    float[] out = s.merge("breadcrumbs", Map.of(), bc(0.5, 0.2), 0, b, x);
    assertClose(new double[] {0, 0, 0, -4, 5, -6, 7, -8, 0, 0}, out, 0);
    // density 0.9, gamma 0.2: bottom would be -1, so the top gives way: drop only the largest
    out = s.merge("breadcrumbs", Map.of(), bc(0.9, 0.2), 0, b, x);
    assertClose(new double[] {1, -2, 3, -4, 5, -6, 7, -8, 9, 0}, out, 0);
  }

  @Test
  void breadcrumbsWithZeroTopCountDoesNotZeroTheTensor() {
    float[] b = new float[10];
    float[] x = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10};
    // gamma 0.01 * 10 = 0.1 -> top count 0: keep the 5 largest
    float[] out = s.merge("breadcrumbs", Map.of(), bc(0.5, 0.01), 0, b, x);
    assertClose(new double[] {0, 0, 0, 0, 0, -6, 7, -8, 9, -10}, out, 0);
  }

  @Test
  void breadcrumbsTiesAppliesTheSignConsensus() {
    float[] b = new float[4];
    float[] x1 = {4, 3, -2, 1};
    float[] x2 = {-1, 3, 2, 5};
    // density 1, gamma 0.25 -> top 1, bottom -1 -> top 0: nothing dropped. Then TIES, no normalize.
    float[] out = s.merge("breadcrumbs_ties", Map.of(), bc(1, 0.25, 2), 0, b, x1, x2);
    // sums [3,6,0,6] -> signs [+,+,+,+]: [4, 6, 2, 6]
    assertClose(new double[] {4, 6, 2, 6}, out, EPS);
  }

  @Test
  void slerpInterpolatesOnTheSphereFromTheBase() {
    float[] v0 = {2, 0};
    float[] v1 = {0, 4};
    float[] mid = s.merge("slerp", Map.of("t", 0.5), List.of(Map.of()), 0, v0, v1);
    assertClose(new double[] {2 * R, 4 * R}, mid, EPS);
    assertClose(v0, s.merge("slerp", Map.of("t", 0.0), List.of(Map.of()), 0, v0, v1), 1e-6);
    assertClose(v1, s.merge("slerp", Map.of("t", 1.0), List.of(Map.of()), 0, v0, v1), 1e-6);
    // nearly parallel: lerp
    float[] lerp =
        s.merge(
            "slerp",
            Map.of("t", 0.25),
            List.of(Map.of()),
            0,
            new float[] {1, 1},
            new float[] {2, 2});
    assertClose(new double[] {1.25, 1.25}, lerp, EPS);
  }

  @Test
  void slerpEndpointsHoldOnRandomTensors() {
    float[] b = randoms(10, 333);
    float[] x = randoms(11, 333);
    assertClose(b, s.merge("slerp", Map.of("t", 0.0), List.of(Map.of()), 0, b, x), 1e-5);
    assertClose(x, s.merge("slerp", Map.of("t", 1.0), List.of(Map.of()), 0, b, x), 1e-5);
  }

  @Test
  void nuslerpUsesTheWeightRatio() {
    float[] x1 = {1, 0};
    float[] x2 = {0, 1};
    // t = 3 / (1 + 3) = 0.75, theta = pi/2
    float[] out = s.merge("nuslerp", Map.of(), List.of(w(1), w(3)), 0, null, x1, x2);
    assertClose(
        new double[] {Math.sin(0.25 * Math.PI / 2), Math.sin(0.75 * Math.PI / 2)}, out, EPS);
    // with a base: b + slerp(t, x1 - b, x2 - b), per last-dim vector of a 2x2 tensor
    float[] b = {1, 1, 1, 1};
    float[] y1 = {2, 1, 1, 3}; // d1 = [[1,0],[0,2]]
    float[] y2 = {1, 2, 1, 2}; // d2 = [[0,1],[0,1]]
    Map<String, Object> perVector = Map.of("nuslerp_flatten", false);
    float[] rows =
        s.merge("nuslerp", new Shape(2, 2), perVector, List.of(w(1), w(1)), 0, b, y1, y2);
    // row 0: slerp(0.5, [1,0], [0,1]) = [R, R]; row 1 parallel -> lerp = [0, 1.5]
    assertClose(new double[] {1 + R, 1 + R, 1, 2.5}, rows, EPS);
    // row_wise: vectors along dim 0. col 0: [1,0] vs zero -> theta = pi/2 -> [R, 0];
    // col 1: [0,2] vs [1,1], theta = pi/4 -> c ([0,2] + [1,1]) with c = sin(pi/8) / sin(pi/4)
    Map<String, Object> rowWise = Map.of("nuslerp_flatten", false, "nuslerp_row_wise", true);
    float[] cols = s.merge("nuslerp", new Shape(2, 2), rowWise, List.of(w(1), w(1)), 0, b, y1, y2);
    double c = Math.sin(Math.PI / 8) / Math.sin(Math.PI / 4);
    assertClose(new double[] {1 + R, 1 + c, 1, 1 + 3 * c}, cols, EPS);
  }

  @Test
  void multislerpScalesTheMeanDirectionByTheWeightedNorm() {
    float[] x1 = {2, 0};
    float[] x2 = {0, 4};
    float[] out = s.merge("multislerp", Map.of(), List.of(w(3), w(1)), 0, null, x1, x2);
    // w = [.75, .25]; m = normalise([.75, .25]); scale = .75*2 + .25*4 = 2.5
    double len = Math.hypot(0.75, 0.25);
    assertClose(new double[] {2.5 * 0.75 / len, 2.5 * 0.25 / len}, out, EPS);
  }

  @Test
  void karcherMeanOfOrthogonalDirections() {
    float[] out =
        s.merge(
            "karcher",
            Map.of(),
            List.of(Map.of(), Map.of(), Map.of()),
            0,
            null,
            new float[] {3, 0, 0},
            new float[] {0, 3, 0},
            new float[] {0, 0, 6});
    double v = 4 / Math.sqrt(3); // mean norm 4 along (1,1,1)/sqrt(3)
    assertClose(new double[] {v, v, v}, out, 1e-4);
  }

  @Test
  void karcherOfTwoUnequalAnglesConvergesToTheGeodesicMidpoint() {
    float[] out =
        s.merge(
            "karcher",
            Map.of("max_iter", 50.0),
            List.of(Map.of(), Map.of()),
            0,
            null,
            new float[] {1, 0},
            new float[] {(float) Math.cos(2.0), (float) Math.sin(2.0)});
    assertClose(new double[] {Math.cos(1.0), Math.sin(1.0)}, out, 1e-4);
  }

  @Test
  void modelStockInterpolatesByTheAngleBetweenTaskVectors() {
    float[] b = {1, 1};
    float[] x1 = {2, 1}; // d1 = [1,0]
    float[] x2 = {2, 2}; // d2 = [1,1]; cos = 1/sqrt 2
    double cos = R;
    double t = 2 * cos / (1 + cos);
    float[] out = s.merge("model_stock", Map.of(), List.of(Map.of(), Map.of()), 0, b, x1, x2);
    assertClose(new double[] {t * 2 + (1 - t), t * 1.5 + (1 - t)}, out, EPS);
  }

  @Test
  void modelStockOfIdenticalFineTunesReturnsThem() {
    float[] b = randoms(12, 100);
    float[] x = randoms(13, 100);
    float[] out =
        s.merge("model_stock", Map.of(), List.of(Map.of(), Map.of(), Map.of()), 0, b, x, x, x);
    assertClose(x, out, 1e-5);
  }

  @Test
  void sceWeightsByEnergyAndKeepsTheElectedSign() {
    float[] b = {0, 0, 0};
    float[] x1 = {1, 2, 0};
    float[] x2 = {3, -2, 0};
    // no selection; signs of [4,0,0] -> all +; masks m1=[1,1,0], m2=[1,0,0];
    // energies 5/3, 13/3 -> w = 5/18, 13/18
    float[] out = s.merge("sce", Map.of(), List.of(Map.of(), Map.of()), 0, b, x1, x2);
    assertClose(new double[] {(5 + 39) / 18.0, 2, 0}, out, EPS);
    // select_topk 0.34 -> 1 position, the highest variance (index 1: var of 2,-2)
    float[] top =
        s.merge("sce", Map.of("select_topk", 0.34), List.of(Map.of(), Map.of()), 0, b, x1, x2);
    assertClose(new double[] {0, 2, 0}, top, EPS);
  }

  @Test
  void nearswapTakesCloseValuesAndBlendsFarOnes() {
    float[] b = {0, 0, 0};
    float[] x = {0.05f, 1, -0.5f};
    // omega = clamp(0.1 / |b - x|) = [1, 0.1, 0.2]
    float[] out = s.merge("nearswap", Map.of("t", 0.1), List.of(Map.of()), 0, b, x);
    assertClose(new double[] {0.05, 0.1, -0.1}, out, EPS);
  }

  @Test
  void passthroughCopiesAndScales() {
    float[] x = {1, -2, 3};
    assertClose(x, s.merge("passthrough", Map.of(), List.of(Map.of()), 0, null, x), 0);
    float[] scaled = s.merge("passthrough", Map.of(), List.of(Map.of("scale", 2.0)), 0, null, x);
    assertClose(new double[] {2, -4, 6}, scaled, 0);
  }

  @Test
  void badParametersAreRejectedWithTheirNames() {
    IllegalArgumentException density =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                s.merge(
                    "ties",
                    Map.of(),
                    List.of(Map.of("weight", 1.0, "density", 1.5)),
                    0,
                    new float[2],
                    new float[2]));
    assertTrue(density.getMessage().contains("density") && density.getMessage().contains("m0"));
    IllegalArgumentException weight =
        assertThrows(
            IllegalArgumentException.class,
            () -> s.merge("linear", Map.of(), List.of(Map.of()), 0, null, new float[2]));
    assertTrue(weight.getMessage().contains("Missing required weight for model m0"));
    IllegalArgumentException unknown =
        assertThrows(
            IllegalArgumentException.class,
            () -> s.merge("linear", Map.of("lambda", 2.0), List.of(w(1)), 0, null, new float[2]));
    assertTrue(unknown.getMessage().contains("does not take parameter lambda"));
    IllegalArgumentException slerp =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                s.merge(
                    "slerp",
                    Map.of("t", 0.5),
                    List.of(Map.of(), Map.of()),
                    0,
                    new float[2],
                    new float[2],
                    new float[2]));
    assertTrue(slerp.getMessage().contains("exactly 2 models"), slerp.getMessage());
    IllegalArgumentException della =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                s.merge(
                    "della",
                    Map.of(),
                    List.of(Map.of("weight", 1.0, "density", 0.9, "epsilon", 0.15)),
                    0,
                    new float[2],
                    new float[2]));
    assertTrue(della.getMessage().contains("epsilon"));
  }

  @Test
  void unknownMethodSuggestsTheNearestName() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> MergeMethods.get("dare_tie"));
    assertTrue(e.getMessage().contains("did you mean dare_ties?"), e.getMessage());
  }

  @Test
  void chunkedDropAndConsensusMatchTheWholeTensorResult() {
    float[] b = randoms(20, 1001);
    float[] x1 = randoms(21, 1001);
    float[] x2 = randoms(22, 1001);
    List<Map<String, Object>> pm =
        List.of(
            Map.of("weight", 1.0, "density", 0.4, "gamma", 0.05),
            Map.of("weight", 0.6, "density", 0.7, "gamma", 0.1));
    List<Map<String, Object>> ties =
        List.of(Map.of("weight", 1.0, "density", 0.4), Map.of("weight", 0.6, "density", 0.7));
    List<Map<String, Object>> dare = ties;
    int saved = TaskArithmeticFamily.chunkElements;
    FusedKernel kernel = TaskArithmeticFamily.kernel;
    for (String method :
        List.of("ties", "dare_ties", "dare_linear", "breadcrumbs", "breadcrumbs_ties")) {
      List<Map<String, Object>> params =
          method.startsWith("breadcrumbs") ? pm : method.equals("ties") ? ties : dare;
      Map<String, Object> global =
          method.equals("breadcrumbs") ? Map.of("rescale", true) : Map.of();
      float[] whole = s.merge(method, global, params, 5, b, x1, x2);
      long savedBytes = TaskArithmeticFamily.storedMaskBytes;
      try {
        TaskArithmeticFamily.kernel = null; // the DJL path (chunks) against the fused CPU one
        TaskArithmeticFamily.chunkElements = 12; // 6 columns of 2 models
        // Same masks; only the summation order of the L1 norms differs.
        assertClose(whole, s.merge(method, global, params, 5, b, x1, x2), 1e-5);
        TaskArithmeticFamily.storedMaskBytes = 0; // masks drawn again for the second pass
        assertClose(whole, s.merge(method, global, params, 5, b, x1, x2), 1e-5);
      } finally {
        TaskArithmeticFamily.kernel = kernel;
        TaskArithmeticFamily.chunkElements = saved;
        TaskArithmeticFamily.storedMaskBytes = savedBytes;
      }
    }
  }

  @Test
  void dellaRanksPerTensorRowInChunksOfWholeRows() {
    // [5, 9] tensor: rank |d| within each row of 9, r = rank / 8, keep where u < 0.2 + 0.6 r.
    int rows = 5;
    int cols = 9;
    float[] b = randoms(30, rows * cols);
    float[] x = randoms(31, rows * cols);
    float[] u;
    try (var m = s.manager.newSubManager()) {
      u = Ops.uniform(m, 8, 1, rows * cols).toFloatArray();
    }
    double[] expected = new double[rows * cols];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        int i = r * cols + c;
        float d = x[i] - b[i];
        int rank = 0;
        for (int k = 0; k < cols; k++) {
          rank += Math.abs(x[r * cols + k] - b[r * cols + k]) < Math.abs(d) ? 1 : 0;
        }
        boolean keep = u[i] < (float) (0.5 - 0.3 + 0.6 * rank / 8.0);
        expected[i] = b[i] + (keep ? 2 * d : 0);
      }
    }
    List<Map<String, Object>> pm = List.of(Map.of("weight", 2.0, "density", 0.5, "epsilon", 0.3));
    Map<String, Object> global = Map.of("rescale", false);
    Shape shape = new Shape(rows, cols);
    assertClose(expected, s.merge("della_linear", shape, global, pm, 8, b, x), EPS);
    int saved = TaskArithmeticFamily.chunkElements;
    try {
      TaskArithmeticFamily.chunkElements = 12; // one row of 9 is odd: chunks of two rows
      assertClose(expected, s.merge("della_linear", shape, global, pm, 8, b, x), EPS);
      float[] x2 = randoms(32, rows * cols);
      List<Map<String, Object>> two =
          List.of(pm.get(0), Map.of("weight", 1.0, "density", 0.6, "epsilon", 0.2));
      float[] chunked = s.merge("della", shape, Map.of(), two, 8, b, x, x2);
      TaskArithmeticFamily.chunkElements = saved;
      assertClose(chunked, s.merge("della", shape, Map.of(), two, 8, b, x, x2), 1e-5);
    } finally {
      TaskArithmeticFamily.chunkElements = saved;
    }
  }

  private static List<Map<String, Object>> bc(double density, double gamma) {
    return bc(density, gamma, 1);
  }

  private static List<Map<String, Object>> bc(double density, double gamma, int n) {
    Map<String, Object> m = Map.of("weight", 1.0, "density", density, "gamma", gamma);
    return java.util.Collections.nCopies(n, m);
  }

  private static float[] plus(float[] b, float... d) {
    float[] out = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      out[i] = b[i] + d[i];
    }
    return out;
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
