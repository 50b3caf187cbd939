package dev.evomerge.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class SparkSessionsTest {
  @Test
  void keysSparkSubmitPassedAsSystemPropertiesWinOverTheConfigsDefaults() {
    Properties launched = new Properties();
    launched.setProperty("spark.master", "spark://cluster:7077");
    launched.setProperty("spark.driver.host", "10.0.0.5");
    Map<String, String> applied =
        SparkSessions.withoutLauncherKeys(
            Map.of(
                "spark.master", "local[*]",
                "spark.driver.host", "127.0.0.1",
                "spark.kryo.registrationRequired", "true"),
            launched);
    // the session builder would override spark-submit's values: those keys are left out
    assertEquals(Map.of("spark.kryo.registrationRequired", "true"), applied);
  }

  @Test
  void underSparkSubmitTheLocalDefaultsGiveWayButAUsersOwnValueStays() {
    Map<String, String> defaults =
        Map.of(
            "spark.master", "local[*]",
            "spark.driver.host", "127.0.0.1",
            "spark.driver.bindAddress", "127.0.0.1",
            "spark.serializer", "org.apache.spark.serializer.KryoSerializer");
    Properties submitted = new Properties();
    submitted.setProperty("spark.submit.deployMode", "client");
    assertEquals(
        Map.of("spark.serializer", "org.apache.spark.serializer.KryoSerializer"),
        SparkSessions.withoutLauncherKeys(defaults, submitted));
    Map<String, String> own = new java.util.TreeMap<>(defaults);
    own.put("spark.driver.host", "driver.example.com");
    assertEquals(
        "driver.example.com",
        SparkSessions.withoutLauncherKeys(own, submitted).get("spark.driver.host"));
    // bin/evomerge (no spark-submit): everything applies
    assertEquals(defaults, SparkSessions.withoutLauncherKeys(defaults, new Properties()));
  }
}
