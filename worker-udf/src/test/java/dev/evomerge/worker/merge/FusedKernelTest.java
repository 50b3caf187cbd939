package dev.evomerge.worker.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The fused CPU path of the sparsified task-arithmetic methods against the DJL path it replaces on
 * the CPU (still the path of other devices), on random tensors with magnitude ties and zeros.
 */
class FusedKernelTest {
  private final MergeTestSupport s = new MergeTestSupport();
  private final FusedKernel saved = TaskArithmeticFamily.kernel;
  private final int savedBlock = TaskArithmeticFamily.fusedBlock;
  private final long savedBytes = TaskArithmeticFamily.storedMaskBytes;

  @AfterEach
  void restore() {
    TaskArithmeticFamily.kernel = saved;
    TaskArithmeticFamily.fusedBlock = savedBlock;
    TaskArithmeticFamily.storedMaskBytes = savedBytes;
    s.close();
  }

  /** {@code merge} run on the DJL path (no fused kernel), the kernel restored after. */
  private float[] djlPath(java.util.function.Supplier<float[]> merge) {
    TaskArithmeticFamily.kernel = null;
    try {
      return merge.get();
    } finally {
      TaskArithmeticFamily.kernel = saved;
    }
  }

  @Test
  void theVectorKernelIsSelectedWhereTheModuleIsPresent() {
    // surefire adds jdk.incubator.vector, as the launcher and spark-submit do
    assertTrue(TaskArithmeticFamily.kernel instanceof VectorFusedKernel);
    assertTrue(FusedKernel.agrees(TaskArithmeticFamily.kernel, new FusedKernel.Scalar()));
  }

  @Test
  void splitMixDrawsSplittableRandomsNumbers() {
    for (long seed : new long[] {0, 9, -5, 0x9E3779B97F4A7C15L * 3}) {
      java.util.SplittableRandom want = new java.util.SplittableRandom(seed);
      Ops.SplitMix got = new Ops.SplitMix(seed);
      for (int i = 0; i < 1000; i++) {
        assertEquals(want.nextLong(), got.nextLong(), "seed " + seed + " draw " + i);
      }
    }
  }

  /** The vector kernel's keep bits, whole words drawn ahead in lanes, are the scalar ones. */
  @Test
  void vectorKeepBitsAreTheScalarOnes() {
    FusedKernel scalar = new FusedKernel.Scalar();
    for (int cols : new int[] {1, 63, 64, 65, 1000, 4096 + 7}) {
      for (float keep : new float[] {0f, 0.3f, 0.5f, 1f}) {
        int threshold = Ops.maskThreshold(keep);
        long[] want = new long[(cols + 63) / 64 + 1];
        long[] got = new long[want.length];
        Ops.SplitMix a = new Ops.SplitMix(cols);
        Ops.SplitMix b = new Ops.SplitMix(cols);
        scalar.keepBits(a, threshold, cols, want, 1);
        saved.keepBits(b, threshold, cols, got, 1);
        assertArrayEquals(want, got, "cols " + cols + " keep " + keep);
        assertEquals(a.nextLong(), b.nextLong(), "stream state after cols " + cols);
      }
    }
  }

  /**
   * Values on a grid of eighths in [-1, 1] (so most magnitudes tie and many entries are zero) and
   * weights that are multiples of 1/4: every sum is exact, so with weights of both signs (the DJL
   * path's exact masked branch) the two paths agree bit for bit, including the elected sign where
   * the sum is exactly 0. A [37, 29] tensor has a ragged tail after the vector lanes; blocks of 64
   * columns make 17 blocks.
   */
  @Test
  void gridTensorsGiveTheSameBitsAsTheDjlPath() {
    Shape shape = new Shape(37, 29);
    int numel = 37 * 29;
    float[] b = grid(1, numel);
    float[][] x = {add(b, grid(2, numel)), add(b, grid(3, numel)), add(b, grid(4, numel))};
    double[][] weights = {{0.5, -0.25, 1.0}, {0.75, 0.5, 1.25}};
    for (int block : new int[] {1 << 20, 64}) {
      TaskArithmeticFamily.fusedBlock = block;
      for (double[] w : weights) {
        boolean mixed = w[1] < 0;
        for (String method :
            List.of("ties", "dare_ties", "breadcrumbs_ties", "dare_linear", "breadcrumbs")) {
          for (Map<String, Object> global : globals(method)) {
            List<Map<String, Object>> pm = perModel(method, w);
            float[] fused = s.merge(method, shape, global, pm, 11, b, x);
            float[] reference = djlPath(() -> s.merge(method, shape, global, pm, 11, b, x));
            String what =
                method + " " + global + " weights " + w[0] + "," + w[1] + " block " + block;
            // TIES with positive weights: the DJL path's threshold arithmetic w (d - tau)+ + w tau
            // rounds; the masked branch and the weighted sums are exact here
            boolean exact = mixed || !method.equals("ties");
            boolean rescale = (Boolean) global.getOrDefault("rescale", method.startsWith("dare"));
            if (exact && !rescale) {
              assertArrayEquals(reference, fused, what);
            } else {
              MergeTestSupport.assertClose(reference, fused, 1e-5);
            }
          }
        }
      }
    }
  }

  /**
   * Gaussian tensors (no ties), four models as in the benchmark, thresholds from the magnitude
   * index: the paths differ only in rounding of sums.
   */
  @Test
  void gaussianTensorsAgreeWithTheDjlPathWithinRounding() {
    Shape shape = new Shape(97, 131);
    int numel = 97 * 131;
    float[] b = MergeMethodsTest.randoms(40, numel);
    float[][] x = new float[4][];
    for (int i = 0; i < 4; i++) {
      float[] d = MergeMethodsTest.randoms(41 + i, numel);
      for (int j = 0; j < numel; j++) {
        d[j] *= 0.01f;
      }
      x[i] = add(b, d);
    }
    double[] w = {0.25, 0.5, 0.25, 1.0};
    for (String method : List.of("ties", "dare_ties", "breadcrumbs_ties")) {
      for (Map<String, Object> global : globals(method)) {
        List<Map<String, Object>> pm = perModel(method, w);
        float[] fused = s.merge(method, shape, global, pm, 5, b, x);
        float[] reference = djlPath(() -> s.merge(method, shape, global, pm, 5, b, x));
        MergeTestSupport.assertClose(reference, fused, 1e-6);
      }
    }
  }

  /**
   * Random keep bits are those of the 0/1 masks the DJL path draws, whatever the block size and
   * whether the first pass's bits are kept or drawn again: dare_linear with weight 1, no rescale
   * and a zero base returns exactly the kept entries.
   */
  @Test
  void dareBitsAreTheSeedsMasksInAnyBlocking() {
    int numel = 1000 + 3;
    float[] zero = new float[numel];
    float[] x = MergeMethodsTest.randoms(50, numel);
    float[] mask;
    try (var m = s.manager.newSubManager()) {
      mask = new Ops.RowStreams(9, 1).nextMask(m, numel, new float[] {0.3f}).toFloatArray();
    }
    List<Map<String, Object>> pm = List.of(Map.of("weight", 1.0, "density", 0.3));
    float[] x2 = MergeMethodsTest.randoms(51, numel);
    List<Map<String, Object>> two = List.of(pm.get(0), Map.of("weight", 0.5, "density", 0.6));
    for (int block : new int[] {1 << 20, 128, 64}) {
      TaskArithmeticFamily.fusedBlock = block;
      float[] got = s.merge("dare_linear", Map.of("rescale", false), pm, 9, zero, x);
      for (int j = 0; j < numel; j++) {
        assertEquals(mask[j] * x[j] + 0f, got[j], "entry " + j + " block " + block);
      }
      for (long bytes : new long[] {1L << 28, 0}) {
        TaskArithmeticFamily.storedMaskBytes = bytes;
        float[] reference = djlPath(() -> s.merge("dare_ties", Map.of(), two, 9, zero, x, x2));
        MergeTestSupport.assertClose(
            reference, s.merge("dare_ties", Map.of(), two, 9, zero, x, x2), 1e-5);
      }
    }
  }

  private static List<Map<String, Object>> globals(String method) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (boolean normalize : new boolean[] {true, false}) {
      for (double lambda : new double[] {1.0, 0.75}) {
        Map<String, Object> g = new LinkedHashMap<>();
        g.put("normalize", normalize);
        g.put("lambda", lambda);
        out.add(g);
        if (!method.equals("ties")) {
          Map<String, Object> r = new LinkedHashMap<>(g);
          r.put("rescale", !method.startsWith("dare"));
          out.add(r);
        }
      }
    }
    return out;
  }

  private static List<Map<String, Object>> perModel(String method, double[] w) {
    double[] density = {0.5, 0.3, 0.8, 0.6};
    List<Map<String, Object>> pm = new ArrayList<>();
    for (int i = 0; i < w.length; i++) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("weight", w[i]);
      m.put("density", density[i]);
      if (method.startsWith("breadcrumbs")) {
        m.put("gamma", 0.1);
      }
      pm.add(m);
    }
    return pm;
  }

  /** Multiples of 1/8 in [-1, 1]. */
  private static float[] grid(long seed, int n) {
    Random r = new Random(seed);
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (r.nextInt(17) - 8) / 8f;
    }
    return out;
  }

  private static float[] add(float[] a, float[] b) {
    float[] out = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      out[i] = a[i] + b[i];
    }
    return out;
  }
}
