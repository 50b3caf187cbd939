package dev.evomerge.driver.spark;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.apache.spark.sql.SparkSession;

/** Builds the run's SparkSession from the {@code spark.*} settings of the config. */
public final class SparkSessions {
  private SparkSessions() {}

  /**
   * Adds an event log in the folder {@code dir} supplies (so the History Server can show the
   * finished run; any Hadoop filesystem, created when asked for) unless the settings choose one, or
   * a session is already running (its settings cannot change).
   */
  public static Map<String, String> withEventLog(
      Map<String, String> settings, Supplier<String> dir) {
    if (settings.containsKey("spark.eventLog.enabled")
        || SparkSession.getDefaultSession().isDefined()) {
      return settings;
    }
    Map<String, String> out = new TreeMap<>(settings);
    out.put("spark.eventLog.enabled", "true");
    out.put("spark.eventLog.dir", dir.get());
    return out;
  }

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
