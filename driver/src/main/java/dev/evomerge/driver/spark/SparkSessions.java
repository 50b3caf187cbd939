package dev.evomerge.driver.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.SparkSession;

/** Builds the run's SparkSession from the {@code spark.*} settings of the config. */
public final class SparkSessions {
  private SparkSessions() {}

  /**
   * The active session if there is one (tests share one per JVM), else a new one with {@code
   * settings}.
   */
  /**
   * Adds an event log under {@code dir} (so the History Server can show the finished run) unless
   * the settings choose one, or a session is already running (its settings cannot change).
   */
  public static Map<String, String> withEventLog(Map<String, String> settings, Path dir) {
    if (settings.containsKey("spark.eventLog.enabled")
        || SparkSession.getDefaultSession().isDefined()) {
      return settings;
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create event log folder " + dir, e);
    }
    Map<String, String> out = new TreeMap<>(settings);
    out.put("spark.eventLog.enabled", "true");
    out.put("spark.eventLog.dir", dir.toUri().toString());
    return out;
  }

  public static SparkSession getOrCreate(Map<String, String> settings) {
    SparkSession.Builder builder = SparkSession.builder();
    settings.forEach(builder::config);
    return builder.getOrCreate();
  }
}
