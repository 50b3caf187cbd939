package dev.evomerge.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@link WorkerScalingBenchmark} when asked ({@code -Dbench.workers=1,2}; skipped in a plain
 * {@code mvn verify}). Asserts only that every generation materialised each candidate once (the
 * planning rule, {@code TaskPlan}, with at least as many candidates as task slots); the speed-up is
 * printed, not asserted.
 */
class WorkerScalingBenchmarkIT {
  @TempDir Path tmp;

  @Test
  void speedUpOfMoreWorkers() throws Exception {
    String workers = System.getProperty("bench.workers", "");
    assumeTrue(!workers.isBlank(), "set -Dbench.workers=1,2 to run the cluster benchmark");
    int shards = Integer.getInteger("bench.shards", 2);
    int population = Integer.getInteger("bench.population", 8);
    List<WorkerScalingBenchmark.Measurement> results =
        WorkerScalingBenchmark.run(
            tmp,
            WorkerScalingBenchmark.parseCounts(workers),
            Integer.getInteger("bench.generations", 5),
            population,
            shards,
            System.getProperty("it.sparkJar"),
            System.out);
    for (WorkerScalingBenchmark.Measurement m : results) {
      if (population >= m.workers()) {
        assertEquals(1, m.materialisationsPerCandidate(), 1e-9, "with " + m.workers());
      }
    }
  }
}
