package dev.evomerge.driver.spark;

import org.apache.spark.sql.SparkSession;

/**
 * The one SparkSession of a test JVM (the first costs seconds, later ones are free): local mode
 * with two executor threads, Kryo with registration required, bound to loopback.
 */
public final class TestSpark {
  private static SparkSession session;

  private TestSpark() {}

  public static synchronized SparkSession session() {
    // a test that needs a session of its own settings stops this one: the next caller gets anew
    if (session == null || session.sparkContext().isStopped()) {
      session =
          SparkSession.builder()
              .master("local[2]")
              .appName("evomerge-tests")
              .config("spark.driver.host", "127.0.0.1")
              .config("spark.driver.bindAddress", "127.0.0.1")
              .config("spark.ui.enabled", "false")
              .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
              .config("spark.kryo.registrator", "dev.evomerge.worker.spark.EvomergeKryoRegistrator")
              .config("spark.kryo.registrationRequired", "true")
              .config("spark.sql.shuffle.partitions", "2")
              .config("spark.plugins", "dev.evomerge.worker.spark.EvomergeSparkPlugin")
              .getOrCreate();
    }
    return session;
  }
}
