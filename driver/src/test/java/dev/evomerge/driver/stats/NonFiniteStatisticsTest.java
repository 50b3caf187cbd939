package dev.evomerge.driver.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.stats.ModelStatistics;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NonFiniteStatisticsTest {
  @Test
  void theFirstNonFiniteEntryIsNamedByKindAndTensor() {
    FloatTensor ok = new FloatTensor(new long[] {2}, new float[] {1, 2});
    FloatTensor nan = new FloatTensor(new long[] {2}, new float[] {1, Float.NaN});
    FloatTensor inf = new FloatTensor(new long[] {1, 1}, new float[] {Float.POSITIVE_INFINITY});
    assertNull(StatisticsJob.firstNonFinite(new ModelStatistics(1, 2, Map.of("a", ok), Map.of())));
    assertEquals(
        "Fisher of b",
        StatisticsJob.firstNonFinite(
            new ModelStatistics(1, 2, Map.of("a", ok, "b", nan), Map.of())));
    assertEquals(
        "Gram of g",
        StatisticsJob.firstNonFinite(new ModelStatistics(1, 2, Map.of("a", ok), Map.of("g", inf))));
  }
}
