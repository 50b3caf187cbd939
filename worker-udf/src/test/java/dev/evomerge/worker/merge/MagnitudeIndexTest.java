package dev.evomerge.worker.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
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
}
