package dev.evomerge.driver.spark;

import java.util.Map;
import org.apache.spark.sql.SparkSession;

/** Builds the run's SparkSession from the {@code spark.*} settings of the config. */
public final class SparkSessions {
  private SparkSessions() {}

  /**
   * The active session if there is one (tests share one per JVM), else a new one with {@code
   * settings}.
   */
  public static SparkSession getOrCreate(Map<String, String> settings) {
    SparkSession.Builder builder = SparkSession.builder();
    settings.forEach(builder::config);
    return builder.getOrCreate();
  }
}
