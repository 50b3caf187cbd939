package dev.evomerge.worker.spark;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import dev.evomerge.worker.eval.ResidentCache;
import dev.evomerge.worker.eval.ResidentSources;
import java.util.Map;
import java.util.function.ToLongFunction;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;
import org.apache.spark.resource.ResourceInformation;

/**
 * Exposes each executor's cache of resident sources, its storage reads and its device memory as
 * Spark metrics (source {@code plugin.dev.evomerge.worker.spark.EvomergeSparkPlugin} in the
 * executor's metrics system: JMX, Prometheus servlet or any configured sink). Enabled by {@code
 * spark.plugins}; also applies the cache's byte budgets when the executor starts.
 *
 * <p>Gauges: {@code cache.hits}, {@code cache.misses}, {@code cache.evictions}, {@code
 * cache.entries}, {@code cache.hostBytes}, {@code cache.deviceBytes}, {@code
 * cache.storageBytesRead} (bytes the cache's loads read: the checkpoint files), {@code
 * storage.bytesRead} (what the JVM read through Hadoop filesystem streams: S3A, HDFS, local reads;
 * local files mapped into memory are not counted there) and {@code device.memoryUsedBytes} (CUDA
 * memory in use on the executor's GPUs; 0 on a CPU executor).
 */
public final class EvomergeSparkPlugin implements SparkPlugin {
  /** Names of the gauges, as registered. */
  static final String[] GAUGES = {
    "cache.hits",
    "cache.misses",
    "cache.evictions",
    "cache.entries",
    "cache.hostBytes",
    "cache.deviceBytes",
    "cache.storageBytesRead",
    "storage.bytesRead",
    "device.memoryUsedBytes"
  };

  @Override
  public DriverPlugin driverPlugin() {
    return null;
  }

  @Override
  public ExecutorPlugin executorPlugin() {
    return new Executor();
  }

  private static final class Executor implements ExecutorPlugin {
    @Override
    public void init(PluginContext ctx, Map<String, String> extraConf) {
      ExecutorCacheSettings.apply(ctx.conf());
      MetricRegistry registry = ctx.metricRegistry();
      cache(registry, "cache.hits", ResidentCache.Stats::hits);
      cache(registry, "cache.misses", ResidentCache.Stats::misses);
      cache(registry, "cache.evictions", ResidentCache.Stats::evictions);
      cache(registry, "cache.entries", ResidentCache.Stats::entries);
      cache(registry, "cache.hostBytes", ResidentCache.Stats::hostBytes);
      cache(registry, "cache.deviceBytes", ResidentCache.Stats::deviceBytes);
      cache(registry, "cache.storageBytesRead", ResidentCache.Stats::storageBytesRead);
      registry.register("storage.bytesRead", (Gauge<Long>) ResidentSources::storageBytesRead);
      ResourceInformation gpus = ctx.resources().get("gpu");
      String[] addresses = gpus == null ? new String[0] : gpus.addresses();
      registry.register("device.memoryUsedBytes", (Gauge<Long>) () -> deviceMemoryUsed(addresses));
    }

    private static void cache(
        MetricRegistry registry, String name, ToLongFunction<ResidentCache.Stats> value) {
      registry.register(
          name, (Gauge<Long>) () -> value.applyAsLong(ResidentSources.cache().stats()));
    }
  }

  /** CUDA memory in use on the given GPUs; 0 without CUDA (a CPU executor, fake GPUs). */
  static long deviceMemoryUsed(String[] addresses) {
    if (addresses.length == 0 || !CudaUtils.hasCuda()) {
      return 0;
    }
    long sum = 0;
    for (String address : addresses) {
      sum += CudaUtils.getGpuMemory(Device.gpu(Integer.parseInt(address))).getUsed();
    }
    return sum;
  }
}
