package dev.evomerge.worker.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.evomerge.worker.eval.ResidentSources;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExecutorCacheSettingsTest {
  @Test
  void budgetsAreSparkSizesWithDefaults() {
    assertArrayEquals(
        new long[] {ResidentSources.DEFAULT_HOST_BYTES, ResidentSources.DEFAULT_DEVICE_BYTES},
        ExecutorCacheSettings.budgets(Map.of()));
    assertArrayEquals(
        new long[] {3L << 30, 512L << 20},
        ExecutorCacheSettings.budgets(
            Map.of(
                ResidentSources.HOST_BYTES_KEY, "3g", ResidentSources.DEVICE_BYTES_KEY, "512m")));
  }

  @Test
  void aBadSizeNamesItsKey() {
    for (String bad : new String[] {"lots", "0", "-1g"}) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> ExecutorCacheSettings.budgets(Map.of(ResidentSources.DEVICE_BYTES_KEY, bad)));
      assertTrue(
          e.getMessage().contains(ResidentSources.DEVICE_BYTES_KEY + ": " + bad), e.getMessage());
    }
  }
}
