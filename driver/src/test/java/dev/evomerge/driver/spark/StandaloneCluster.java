package dev.evomerge.driver.spark;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Spark standalone cluster on 127.0.0.1: a master and workers as separate JVMs, started from
 * the Spark jars Maven copied into {@code target/spark-home/jars} (there is no Spark distribution
 * here). Executors are launched by the workers in JVMs of their own.
 */
final class StandaloneCluster implements AutoCloseable {
  private final Path sparkHome;
  private final Path workDir;
  private final List<String> jvmOpens;
  private final int masterPort;
  private final int masterWebPort;
  private final Process master;
  private final List<Process> workers = new ArrayList<>();

  private final Path gpuDiscoveryScript;

  private StandaloneCluster(Path sparkHome, Path workDir, List<String> jvmOpens)
      throws IOException {
    this.sparkHome = sparkHome;
    this.workDir = workDir;
    this.jvmOpens = jvmOpens;
    // one fake GPU per worker (there is none here): Spark schedules it like a real one
    Files.createDirectories(workDir);
    this.gpuDiscoveryScript = workDir.resolve("discover-gpu.sh");
    Files.writeString(
        gpuDiscoveryScript, "#!/bin/sh\necho '{\"name\":\"gpu\",\"addresses\":[\"0\"]}'\n");
    gpuDiscoveryScript.toFile().setExecutable(true);
    this.masterPort = freePort();
    this.masterWebPort = freePort();
    this.master =
        launch(
            "master",
            List.of(
                "-Dspark.master.rest.enabled=false",
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                String.valueOf(masterPort),
                "--webui-port",
                String.valueOf(masterWebPort)));
  }

  /**
   * Starts a master and {@code workerCount} workers (1 core, 2 GiB, one fake GPU each) and waits
   * for them.
   */
  static StandaloneCluster start(Path workDir, int workerCount) throws Exception {
    Path sparkHome = Path.of(System.getProperty("it.sparkHome"));
    if (!Files.isDirectory(sparkHome.resolve("jars"))) {
      throw new IllegalStateException(
          "No Spark jars in " + sparkHome + "; run through `mvn verify`");
    }
    List<String> opens =
        Arrays.stream(System.getProperty("it.jvmOpens", "").trim().split("\\s+"))
            .filter(s -> !s.isEmpty())
            .toList();
    StandaloneCluster cluster = new StandaloneCluster(sparkHome, workDir, opens);
    try {
      for (int i = 0; i < workerCount; i++) {
        cluster.addWorker();
      }
      cluster.awaitAliveWorkers(workerCount, Duration.ofSeconds(60));
      return cluster;
    } catch (Exception e) {
      cluster.close();
      throw e;
    }
  }

  String masterUrl() {
    return "spark://127.0.0.1:" + masterPort;
  }

  /** Executor JVMs currently running under the workers. */
  List<ProcessHandle> executors() {
    List<ProcessHandle> out = new ArrayList<>();
    for (Process w : workers) {
      w.toHandle().children().filter(ProcessHandle::isAlive).forEach(out::add);
    }
    return out;
  }

  /** Settings a driver in the test JVM needs to run on this cluster. */
  Map<String, String> driverSettings(String applicationJar) {
    return Map.ofEntries(
        Map.entry("spark.master", masterUrl()),
        Map.entry("spark.jars", "file:" + applicationJar),
        Map.entry("spark.executor.memory", "1g"),
        Map.entry(
            "spark.executor.extraJavaOptions",
            String.join(" ", jvmOpens)
                + " -Dai.djl.offline=true -XX:+UseSerialGC -Djava.io.tmpdir="
                + tmpDir()),
        Map.entry("spark.executor.resource.gpu.amount", "1"),
        Map.entry("spark.executor.resource.gpu.discoveryScript", gpuDiscoveryScript.toString()),
        Map.entry("spark.driver.host", "127.0.0.1"),
        Map.entry("spark.driver.bindAddress", "127.0.0.1"),
        Map.entry("spark.ui.enabled", "false"));
  }

  private void addWorker() throws IOException {
    int n = workers.size();
    Path dir = Files.createDirectories(workDir.resolve("worker-" + n));
    workers.add(
        launch(
            "worker-" + n,
            List.of(
                "-Dspark.worker.cleanup.enabled=false",
                "-Dspark.worker.resource.gpu.amount=1",
                "-Dspark.worker.resource.gpu.discoveryScript=" + gpuDiscoveryScript,
                "org.apache.spark.deploy.worker.Worker",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--webui-port",
                "0",
                "--cores",
                "1",
                "--memory",
                "2g",
                "--work-dir",
                dir.toString(),
                masterUrl())));
  }

  private Process launch(String name, List<String> mainAndArgs) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(jvmOpens);
    cmd.addAll(List.of("-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
    cmd.add("-Djava.io.tmpdir=" + tmpDir());
    cmd.add("-cp");
    cmd.add(sparkHome.resolve("jars") + "/*");
    cmd.addAll(mainAndArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> env = pb.environment();
    env.put("SPARK_HOME", sparkHome.toString());
    env.put("SPARK_LOCAL_IP", "127.0.0.1");
    env.put("SPARK_SCALA_VERSION", "2.13");
    env.put("SPARK_LOCAL_DIRS", Files.createDirectories(workDir.resolve("local")).toString());
    pb.redirectErrorStream(true);
    pb.redirectOutput(workDir.resolve(name + ".log").toFile());
    return pb.start();
  }

  private Path tmpDir() {
    try {
      return Files.createDirectories(workDir.resolve("tmp"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void awaitAliveWorkers(int count, Duration timeout) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    URI status = URI.create("http://127.0.0.1:" + masterWebPort + "/json/");
    Pattern alive = Pattern.compile("\"aliveworkers\"\\s*:\\s*(\\d+)");
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "";
    while (System.nanoTime() < deadline) {
      if (!master.isAlive()) {
        throw new IllegalStateException(
            "Spark master exited; see " + workDir.resolve("master.log"));
      }
      try {
        last =
            http.send(
                    HttpRequest.newBuilder(status).GET().build(),
                    HttpResponse.BodyHandlers.ofString())
                .body();
        Matcher m = alive.matcher(last);
        if (m.find() && Integer.parseInt(m.group(1)) >= count) {
          return;
        }
      } catch (IOException e) {
        // master not listening yet
      }
      Thread.sleep(300);
    }
    throw new IllegalStateException(
        "Cluster not ready in " + timeout + " (last status: " + last + "); logs in " + workDir);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    for (Process w : workers) {
      w.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
      w.destroyForcibly();
    }
    master.destroyForcibly();
    for (Process p : workers) {
      p.onExit().join();
    }
    master.onExit().join();
  }
}
