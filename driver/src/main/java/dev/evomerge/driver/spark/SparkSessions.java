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
    withoutLauncherKeys(settings, System.getProperties()).forEach(builder::config);
    return builder.getOrCreate();
  }

  /**
   * {@code settings} less the keys the JVM was launched with: spark-submit passes its {@code
   * --master}, {@code --conf} and properties file as system properties, and those must win over the
   * config's defaults (reference.conf's {@code local[*]} master and loopback driver address), as
   * {@code -Dkey=value} wins over a config file.
   */
  static Map<String, String> withoutLauncherKeys(
      Map<String, String> settings, java.util.Properties system) {
    Map<String, String> out = new TreeMap<>(settings);
    out.keySet().removeIf(system::containsKey);
    if (system.containsKey(SUBMIT_DEPLOY_MODE)) {
      // launched by spark-submit: reference.conf's local master and loopback driver address are
      // for bin/evomerge; the cluster manager decides them (a user's own value still applies)
      com.typesafe.config.Config reference = dev.evomerge.driver.config.ConfigLoader.reference();
      for (String key : LOCAL_DEFAULTS) {
        if (out.containsKey(key)
            && reference.hasPath(key)
            && reference.getString(key).equals(out.get(key))) {
          out.remove(key);
        }
      }
    }
    return out;
  }

  /** Set by spark-submit (client and cluster mode) in the driver's system properties. */
  static final String SUBMIT_DEPLOY_MODE = "spark.submit.deployMode";

  private static final java.util.List<String> LOCAL_DEFAULTS =
      java.util.List.of("spark.master", "spark.driver.host", "spark.driver.bindAddress");
}
