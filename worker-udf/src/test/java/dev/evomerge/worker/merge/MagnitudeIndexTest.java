package dev.evomerge.worker.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MagnitudeIndexTest {
  @Test
  void smallTensorsGiveTheExactKthLargestMagnitude() {
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      MagnitudeIndex idx = MagnitudeIndex.build(m.create(new float[] {-5, 1, 3, -2, 4}));
      assertEquals(5f, idx.kthLargest(1));
      assertEquals(3f, idx.kthLargest(3));
      assertEquals(1f, idx.kthLargest(5));
    }
  }

  @Test
  void largeTensorsKeepWithinOneStepOfK() {
    int n = 3 * MagnitudeIndex.RESOLUTION + 7; // step 4
    float[] v = new float[n];
    Random r = new Random(1);
    for (int i = 0; i < n; i++) {
      v[i] = (float) r.nextGaussian();
    }
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      MagnitudeIndex idx = MagnitudeIndex.build(m.create(v));
      for (long k : new long[] {1, 1000, n / 2, n - 3}) {
        float thr = idx.kthLargest(k);
        long kept = 0;
        for (float x : v) {
          kept += Math.abs(x) >= thr ? 1 : 0;
        }
        assertTrue(Math.abs(kept - k) <= 4, "k " + k + " kept " + kept);
      }
    }
  }

  @Test
  void selectionFindsTheSortedValueWithManyTies() {
    Random r = new Random(3);
    for (int n : new int[] {1, 2, 3, 10, 1000, 4097}) {
      for (int distinct : new int[] {1, 3, 50, 1 << 20}) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
          v[i] = r.nextInt(distinct) * 0.5f;
        }
        float[] sorted = v.clone();
        Arrays.sort(sorted);
        for (int index : new int[] {0, n / 3, n / 2, n - 1}) {
          assertEquals(
              sorted[index],
              MagnitudeIndex.select(v.clone(), index),
              "n " + n + " distinct " + distinct + " index " + index);
        }
      }
    }
    // sorted and reversed inputs (quicksort's bad cases for a naive pivot)
    float[] up = new float[5000];
    for (int i = 0; i < up.length; i++) {
      up[i] = i;
    }
    assertEquals(1234f, MagnitudeIndex.select(up.clone(), 1234));
    float[] down = new float[5000];
    for (int i = 0; i < down.length; i++) {
      down[i] = -i;
    }
    assertEquals(-3765f, MagnitudeIndex.select(down, 1234));
  }

  /**
   * A one-shot merge selects the exact threshold of a tensor above the index's resolution, where
   * the index rounds k: ties keeps exactly {@code floor(density * N)} entries of a tensor without
   * magnitude ties.
   */
  @Test
  void combinedOnceTrimsToTheExactDensityOfALargeTensor() {
    int n = 3 * MagnitudeIndex.RESOLUTION + 7;
    float[] x = MergeMethodsTest.randoms(8, n);
    float[] zero = new float[n];
    MergeMethod ties = MergeMethods.get("ties");
    ResolvedParams p =
        Params.resolve(
            ties, Map.of(), List.of(Map.of("weight", 1.0, "density", 0.3)), 0, "t", List.of("m0"));
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      PreparedTensor t =
          MergeEngine.prepare(ties, "t", List.of("m0"), List.of(m.create(x)), m.create(zero));
      float[] once = MergeEngine.combine(ties, t.combinedOnce(), p, m).toFloatArray();
      long kept = 0;
      for (float v : once) {
        kept += v != 0 ? 1 : 0;
      }
      assertEquals((long) Math.floor(0.3 * n), kept);
    }
  }
}
