package dev.evomerge.worker.spark;

import dev.evomerge.worker.eval.ResidentSources;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;

/**
 * Applies the byte budgets of the executor's cache of resident sources from the Spark configuration
 * ({@value ResidentSources#HOST_BYTES_KEY}, {@value ResidentSources#DEVICE_BYTES_KEY}; sizes as
 * Spark writes them: {@code 16g}, {@code 512m}).
 */
final class ExecutorCacheSettings {
  private ExecutorCacheSettings() {}

  /** Sets the budgets from the running executor's configuration (outside Spark: nothing). */
  static void apply() {
    SparkEnv env = SparkEnv.get();
    if (env != null) {
      apply(env.conf());
    }
  }

  static void apply(SparkConf conf) {
    ResidentSources.cache()
        .setBudgets(
            bytes(conf, ResidentSources.HOST_BYTES_KEY, ResidentSources.DEFAULT_HOST_BYTES),
            bytes(conf, ResidentSources.DEVICE_BYTES_KEY, ResidentSources.DEFAULT_DEVICE_BYTES));
  }

  private static long bytes(SparkConf conf, String key, long fallback) {
    if (!conf.contains(key)) {
      return fallback;
    }
    try {
      return conf.getSizeAsBytes(key);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "Invalid " + key + ": " + conf.get(key) + " (a size such as 16g or 512m)", e);
    }
  }
}
