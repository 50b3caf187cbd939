package dev.evomerge.driver.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.run.ToyFixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/spark-submit.sh} with Spark's real {@code SparkSubmit} (from the Maven-copied Spark
 * jars; there is no distribution here) and the built spark-submit jar: a short run completes, the
 * master spark-submit was given wins over the config's, and the run moves {@code latest.json}.
 */
class SparkSubmitWrapperIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @Test
  void theWrapperSubmitsTheJarAndSparkSubmitsSettingsWin() throws Exception {
    Path root = Path.of("").toAbsolutePath().getParent();
    Path sparkHome = Path.of(System.getProperty("it.sparkHome"));
    Path shim = tmp.resolve("spark-submit");
    Files.writeString(
        shim,
        "#!/usr/bin/env bash\nexec java "
            + System.getProperty("it.jvmOpens", "").trim()
            + " -Xmx1g -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp '"
            + sparkHome.resolve("jars")
            + "/*' org.apache.spark.deploy.SparkSubmit \"$@\"\n");
    assertTrue(shim.toFile().setExecutable(true));
    // loopback only here; a real cluster's conf is deploy/spark-gpu.conf
    Path properties = tmp.resolve("spark-local.conf");
    Files.writeString(
        properties,
        String.join(
            "\n",
            "spark.driver.host 127.0.0.1",
            "spark.driver.bindAddress 127.0.0.1",
            "spark.eventLog.compress false",
            "spark.driver.extraJavaOptions -Dai.djl.offline=true -Djava.io.tmpdir=" + tmp,
            ""));
    Path runs = tmp.resolve("runs");
    Path config = tmp.resolve("toy.conf");
    Files.writeString(
        config, ToyFixtures.config(runs) + "\nevomerge.run { generations = 1, pointers = true }\n");

    ProcessBuilder pb =
        new ProcessBuilder(
                "bash",
                "deploy/spark-submit.sh",
                "--master",
                "local[1]",
                "--",
                "run",
                "--config",
                config.toString())
            .directory(root.toFile())
            .redirectErrorStream(true);
    Map<String, String> env = pb.environment();
    env.put("SPARK_SUBMIT", shim.toString());
    env.put("EVOMERGE_JAR", System.getProperty("it.sparkJar"));
    env.put("EVOMERGE_SPARK_PROPERTIES", properties.toString());
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
    assertTrue(out.contains("generation 1/1"), out);

    Path run;
    try (Stream<Path> s = Files.list(runs)) {
      run = s.filter(Files::isDirectory).findFirst().orElseThrow();
    }
    assertEquals(
        "completed", JSON.readTree(run.resolve("status.json").toFile()).get("state").asText());
    assertEquals(
        run.toAbsolutePath().toString(),
        JSON.readTree(runs.resolve("latest.json").toFile()).get("run").asText());
    // the event log's environment: spark-submit's master (not the config's local[2]) and name
    String events;
    try (Stream<Path> s = Files.walk(run.resolve("eventlog"))) {
      List<Path> files = s.filter(f -> f.getFileName().toString().startsWith("events_")).toList();
      assertEquals(1, files.size(), files.toString());
      events = Files.readString(files.get(0));
    }
    assertTrue(events.contains("\"spark.master\":\"local[1]\""), "master");
    assertTrue(events.contains("\"spark.app.name\":\"evomerge\""), "app name");
    assertTrue(events.contains("\"spark.submit.deployMode\":\"client\""), "deploy mode");
  }
}
