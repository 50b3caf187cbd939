package dev.evomerge.driver.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.ResidentCache;
import dev.evomerge.worker.eval.ResidentSources;
import dev.evomerge.worker.merge.PreparedTensor;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The executor's JVM-wide cache with real toy checkpoints: hits read nothing, budgets evict. */
class ResidentSourcesCacheTest {
  @TempDir Path tmp;

  @Test
  void aBadCacheBudgetIsRefusedBeforeSparkStarts() throws Exception {
    File conf = tmp.resolve("run.conf").toFile();
    Files.writeString(conf.toPath(), ToyFixtures.config(tmp.resolve("runs")));
    RunError e =
        assertThrows(
            RunError.class,
            () ->
                Preflight.check(
                    ConfigLoader.load(
                        conf, List.of("spark.evomerge.executor.cache.host-bytes=lots"))));
    assertTrue(
        e.getMessage().contains("Invalid spark.evomerge.executor.cache.host-bytes: lots"),
        e.getMessage());
  }

  @Test
  void hitsReadNothingAndAFullBudgetEvictsAndClosesTheLeastRecentSources() throws Exception {
    File conf = tmp.resolve("run.conf").toFile();
    Files.writeString(conf.toPath(), ToyFixtures.config(tmp.resolve("runs")));
    EvalSpec spec = Preflight.check(ConfigLoader.load(conf, List.of())).spec();
    ResidentCache<ResidentSources> cache = ResidentSources.cache();
    cache.clear();
    try {
      ResidentCache.Stats s0 = cache.stats();
      ResidentSources first;
      try (ResidentCache<ResidentSources>.Lease lease = ResidentSources.acquire(spec)) {
        first = lease.value();
      }
      ResidentCache.Stats s1 = cache.stats();
      assertEquals(s0.misses() + 1, s1.misses());
      long loaded = s1.storageBytesRead() - s0.storageBytesRead();
      // the toy checkpoints are float32: the files hold the resident inputs, plus headers
      assertTrue(loaded > first.residentBytes(), "a miss reads the checkpoints: " + loaded);
      assertTrue(loaded < first.residentBytes() + 100_000, "bytes read " + loaded);
      assertEquals(first.residentBytes(), s1.hostBytes());

      // a hit, and the held-out evaluation's uniform linear merge shares the same entry
      long read1 = ResidentSources.storageBytesRead();
      for (EvalSpec same : List.of(spec, spec.asNormalizedLinear())) {
        try (ResidentCache<ResidentSources>.Lease lease = ResidentSources.acquire(same)) {
          assertSame(first, lease.value());
        }
      }
      assertEquals(0, ResidentSources.storageBytesRead() - read1, "bytes read by hits");
      assertEquals(s1.hits() + 2, cache.stats().hits());
      assertEquals(s1.misses(), cache.stats().misses());

      // room for one set of sources: another set (the sources in another order) evicts the first
      cache.setBudgets(first.residentBytes() + 1, ResidentSources.DEFAULT_DEVICE_BYTES);
      List<String> uris = new ArrayList<>(spec.sourceUris());
      List<String> versions = new ArrayList<>(spec.versions());
      Collections.reverse(uris);
      Collections.reverse(versions);
      EvalSpec reversed =
          spec.toBuilder().sourceUris(uris).baseUri(null).versions(versions).build();
      PreparedTensor firstTensor = first.tensors().values().iterator().next();
      assertFalse(firstTensor.stacked().isReleased());
      try (ResidentCache<ResidentSources>.Lease lease = ResidentSources.acquire(reversed)) {
        assertTrue(firstTensor.stacked().isReleased(), "the evicted sources' arrays are closed");
        assertFalse(lease.value().tensors().values().iterator().next().stacked().isReleased());
      }
      ResidentCache.Stats s2 = cache.stats();
      assertEquals(s1.evictions() + 1, s2.evictions());
      assertEquals(s1.misses() + 1, s2.misses());
      assertEquals(1, s2.entries());
      assertEquals(first.residentBytes(), s2.hostBytes());
    } finally {
      cache.setBudgets(ResidentSources.DEFAULT_HOST_BYTES, ResidentSources.DEFAULT_DEVICE_BYTES);
      cache.clear();
    }
  }
}
