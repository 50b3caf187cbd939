package dev.evomerge.worker.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LinearCombineTest {
  @Test
  void weightedSumIsDividedByTheWeightSumWhenNormalising() {
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      List<Map<String, NDArray>> sources =
          List.of(
              Map.of("w", m.create(new float[] {1, 2, 3})),
              Map.of("w", m.create(new float[] {4, 0, -2})));
      try (NDScope scope = new NDScope()) {
        scope.suppressNotUsedWarning();
        // 3*x0 + 1*x1 = [7, 6, 7]; normalised by 4
        assertArrayEquals(
            new float[] {7f / 4, 6f / 4, 7f / 4},
            LinearCombine.combine(sources, new double[] {3, 1}, true).get("w").toFloatArray(),
            1e-6f);
        assertArrayEquals(
            new float[] {7, 6, 7},
            LinearCombine.combine(sources, new double[] {3, 1}, false).get("w").toFloatArray(),
            1e-6f);
      }
      // the sources are untouched by the in-place accumulation
      assertArrayEquals(new float[] {1, 2, 3}, sources.get(0).get("w").toFloatArray());
    }
  }

  @Test
  void weightsThatSumToZeroCannotBeNormalised() {
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      List<Map<String, NDArray>> sources =
          List.of(Map.of("w", m.create(new float[] {1})), Map.of("w", m.create(new float[] {2})));
      assertThrows(
          IllegalArgumentException.class,
          () -> LinearCombine.combine(sources, new double[] {1, -1}, true));
      assertThrows(
          IllegalArgumentException.class,
          () -> LinearCombine.combine(sources, new double[] {1}, false));
    }
  }
}
