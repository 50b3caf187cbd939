package dev.evomerge.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.run.Preflight;
import dev.evomerge.driver.run.ToyFixtures;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.ResidentCache;
import dev.evomerge.worker.eval.ResidentSources;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.SparkEnv;
import org.apache.spark.metrics.source.Source;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The executor plugin's metrics, read from the executor's metrics system (local mode). */
class EvomergeSparkPluginTest {
  @TempDir Path tmp;

  @Test
  void executorMetricsShowTheCacheAndStorageReads() throws Exception {
    SparkSession spark = TestSpark.session();
    assertEquals(
        "dev.evomerge.worker.spark.EvomergeSparkPlugin", spark.conf().get("spark.plugins"));
    File conf = tmp.resolve("run.conf").toFile();
    Files.writeString(conf.toPath(), ToyFixtures.config(tmp.resolve("runs")));
    Preflight.CheckedRun checked = Preflight.check(ConfigLoader.load(conf, List.of()));
    List<CandidateSpec> candidates =
        List.of(
            new CandidateSpec(0, new double[] {1, 1, 1}),
            new CandidateSpec(1, new double[] {1, 0, 0}));
    MetricRegistry metrics = pluginMetrics();
    try (SparkGenerationEvaluator evaluator =
        new SparkGenerationEvaluator(spark, checked.spec(), checked.rows(), 2)) {
      evaluator.evaluate("plugin generation 1", candidates);
      long hits = gauge(metrics, "cache.hits");
      long misses = gauge(metrics, "cache.misses");
      long loaded = gauge(metrics, "cache.storageBytesRead");
      assertTrue(misses >= 1, "the sources were loaded once: misses " + misses);
      assertTrue(loaded > 0, "bytes the loads read: " + loaded);
      assertTrue(gauge(metrics, "cache.hostBytes") > 0);
      assertTrue(gauge(metrics, "cache.entries") >= 1);
      assertEquals(0, gauge(metrics, "cache.deviceBytes"));
      assertEquals(0, gauge(metrics, "device.memoryUsedBytes"), "a CPU executor");
      evaluator.evaluate("plugin generation 2", candidates);
      // two tasks (one per shard) of the warm generation: two hits, nothing loaded
      assertEquals(hits + 2, gauge(metrics, "cache.hits"));
      assertEquals(misses, gauge(metrics, "cache.misses"));
      assertEquals(loaded, gauge(metrics, "cache.storageBytesRead"));
    }
    // the gauges read the JVM's real counters
    ResidentCache.Stats stats = ResidentSources.cache().stats();
    assertEquals(stats.hits(), gauge(metrics, "cache.hits"));
    assertEquals(stats.storageBytesRead(), gauge(metrics, "cache.storageBytesRead"));
    assertEquals(ResidentSources.storageBytesRead(), gauge(metrics, "storage.bytesRead"));
  }

  /** The executor plugin's registry (local mode: the executor shares the driver's SparkEnv). */
  private static MetricRegistry pluginMetrics() {
    scala.collection.Seq<Source> sources =
        SparkEnv.get()
            .metricsSystem()
            .getSourcesByName("plugin.dev.evomerge.worker.spark.EvomergeSparkPlugin");
    assertFalse(sources.isEmpty(), "the plugin registered its metrics source");
    for (Source s : scala.jdk.javaapi.CollectionConverters.asJava(sources)) {
      if (s.metricRegistry().getGauges().containsKey("cache.hits")) {
        return s.metricRegistry();
      }
    }
    throw new AssertionError("no plugin source with the cache gauges");
  }

  @SuppressWarnings("unchecked")
  private static long gauge(MetricRegistry registry, String name) {
    Gauge<Long> g = registry.getGauges().get(name);
    assertTrue(g != null, "gauge " + name + " in " + registry.getGauges().keySet());
    return ((Number) g.getValue()).longValue();
  }
}
