package dev.evomerge.worker.spark;

import dev.evomerge.worker.eval.ResidentSources;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;

/**
 * Applies the byte budgets of the executor's cache of resident sources from the Spark configuration
 * ({@value ResidentSources#HOST_BYTES_KEY}, {@value ResidentSources#DEVICE_BYTES_KEY}; sizes as
 * Spark writes them: {@code 16g}, {@code 512m}).
 */
public final class ExecutorCacheSettings {
  private ExecutorCacheSettings() {}

  /** Sets the budgets from the running executor's configuration (outside Spark: nothing). */
  static void apply() {
    SparkEnv env = SparkEnv.get();
    if (env != null) {
      apply(env.conf());
    }
  }

  static void apply(SparkConf conf) {
    long[] budgets = budgets(conf);
    ResidentSources.cache().setBudgets(budgets[0], budgets[1]);
  }

  /**
   * The host and device budgets the Spark settings {@code spark} give (checked on the driver before
   * Spark starts, so a bad size never reaches an executor).
   *
   * @throws IllegalArgumentException naming the key of a value that is not a positive size
   */
  public static long[] budgets(Map<String, String> spark) {
    SparkConf conf = new SparkConf(false);
    for (String key :
        new String[] {ResidentSources.HOST_BYTES_KEY, ResidentSources.DEVICE_BYTES_KEY}) {
      if (spark.containsKey(key)) {
        conf.set(key, spark.get(key));
      }
    }
    return budgets(conf);
  }

  private static long[] budgets(SparkConf conf) {
    return new long[] {
      bytes(conf, ResidentSources.HOST_BYTES_KEY, ResidentSources.DEFAULT_HOST_BYTES),
      bytes(conf, ResidentSources.DEVICE_BYTES_KEY, ResidentSources.DEFAULT_DEVICE_BYTES)
    };
  }

  private static long bytes(SparkConf conf, String key, long fallback) {
    if (!conf.contains(key)) {
      return fallback;
    }
    long bytes;
    try {
      bytes = conf.getSizeAsBytes(key);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "Invalid " + key + ": " + conf.get(key) + " (a size such as 16g or 512m)", e);
    }
    if (bytes <= 0) {
      throw new IllegalArgumentException(
          "Invalid " + key + ": " + conf.get(key) + " (must be a positive size such as 16g)");
    }
    return bytes;
  }
}
