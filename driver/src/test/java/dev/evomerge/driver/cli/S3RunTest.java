package dev.evomerge.driver.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.run.ToyFixtures;
import dev.evomerge.driver.spark.TestSpark;
import dev.evomerge.driver.toy.ToyZoo;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.deploy.history.EventLogFileReader;
import org.apache.spark.sql.SparkSession;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole run whose source models and dev set live on a real S3-compatible server (s3proxy,
 * in-process, on 127.0.0.1) and are read with the real S3A client by the driver's checks, by
 * Spark's JSON reader and by the executors.
 */
class S3RunTest {
  private static final String KEY = "AKIDEVOMERGE";
  private static final String SECRET = "evomerge-secret";
  private static BlobStoreContext store;
  private static S3Proxy proxy;

  @TempDir Path tmp;

  @BeforeAll
  static void startServer() throws Exception {
    TestSpark.session();
    store =
        ContextBuilder.newBuilder("transient")
            .credentials("identity", "credential")
            .build(BlobStoreContext.class);
    store.getBlobStore().createContainerInLocation(null, "zoo");
    proxy =
        S3Proxy.builder()
            .blobStore(store.getBlobStore())
            .endpoint(URI.create("http://127.0.0.1:0"))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, KEY, SECRET)
            .build();
    proxy.start();
    for (int i = 0; i < 500 && !"STARTED".equals(proxy.getState()); i++) {
      Thread.sleep(10);
    }
  }

  @AfterAll
  static void stopServer() throws Exception {
    proxy.stop();
    store.close();
  }

  private static String s3Settings() {
    return String.join(
        "\n",
        "spark.hadoop.fs.s3a.endpoint = \"http://127.0.0.1:" + proxy.getPort() + "\"",
        "\"spark.hadoop.fs.s3a.endpoint.region\" = us-east-1",
        "spark.hadoop.fs.s3a.path.style.access = true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled = false",
        "spark.hadoop.fs.s3a.aws.credentials.provider ="
            + " org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "spark.hadoop.fs.s3a.access.key = " + KEY,
        "spark.hadoop.fs.s3a.secret.key = " + SECRET,
        "spark.hadoop.fs.s3a.attempts.maximum = 1",
        "spark.hadoop.fs.s3a.retry.limit = 2",
        "");
  }

  private static Configuration hadoop() {
    Configuration c = new Configuration();
    c.set("fs.s3a.endpoint", "http://127.0.0.1:" + proxy.getPort());
    c.set("fs.s3a.endpoint.region", "us-east-1");
    c.setBoolean("fs.s3a.path.style.access", true);
    c.setBoolean("fs.s3a.connection.ssl.enabled", false);
    c.set(
        "fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    c.set("fs.s3a.access.key", KEY);
    c.set("fs.s3a.secret.key", SECRET);
    return c;
  }

  @Test
  void aRunReadsSourcesAndTheDevSetFromS3() throws Exception {
    String zooLines = ToyFixtures.zooUnder("s3a://zoo", hadoop());

    Path runs = tmp.resolve("runs");
    Path file = tmp.resolve("s3.conf");
    Files.writeString(file, ToyFixtures.config(runs) + "\n" + zooLines + s3Settings());
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        RunCommand.execute(
            file.toFile(),
            List.of(),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
    try (Stream<Path> dirs = Files.list(runs)) {
      Path dir = dirs.findFirst().orElseThrow();
      ObjectMapper json = new ObjectMapper();
      JsonNode best = json.readTree(dir.resolve("best.json").toFile());
      assertTrue(best.get("models").get(0).get("model").asText().startsWith("s3a://zoo/"));
      assertTrue(Files.exists(dir.resolve("best/model.safetensors")));
      assertEquals(2 * 4, Files.readAllLines(dir.resolve("history.jsonl")).size());
      String saved = Files.readString(dir.resolve("config.conf"));
      assertTrue(!saved.contains(SECRET), "the S3 secret must not reach the run folder");
    }
  }

  /** {@code evomerge inspect} on s3a:// folders, S3A settings given with --conf. */
  @Test
  void inspectReadsModelsOnS3aAndChecksThemAgainstEachOther() throws Exception {
    ToyZoo.Zoo zoo = ToyFixtures.zoo();
    Configuration conf = hadoop();
    List<String> args = new java.util.ArrayList<>();
    for (int i = 0; i < 2; i++) {
      String uri = "s3a://zoo/inspect/m" + i;
      ToyFixtures.copyTo(zoo.sources().get(i), uri, conf);
      args.add(uri);
    }
    args.add("--json");
    for (String key :
        List.of(
            "fs.s3a.endpoint",
            "fs.s3a.endpoint.region",
            "fs.s3a.path.style.access",
            "fs.s3a.connection.ssl.enabled",
            "fs.s3a.aws.credentials.provider",
            "fs.s3a.access.key",
            "fs.s3a.secret.key")) {
      args.add("--conf");
      args.add(key + "=" + conf.get(key));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        dev.evomerge.driver.inspect.InspectCommand.run(
            args.toArray(String[]::new),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
    JsonNode root = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
    assertTrue(root.get("compatible").asBoolean());
    assertEquals(2, root.get("models").size());
    JsonNode first = root.get("models").get(0);
    assertTrue(first.toString().contains("s3a://zoo/inspect/m0"), first.toString());
    assertTrue(first.get("architecture").get("layers").asInt() > 0);
    assertTrue(first.get("tensors").size() > 0);
  }

  /** The S3 settings as {@code --set} overrides, as a user resuming a run on S3 gives them. */
  private static List<String> s3Sets() {
    return List.of(
        "spark.hadoop.fs.s3a.endpoint=http://127.0.0.1:" + proxy.getPort(),
        "\"spark.hadoop.fs.s3a.endpoint.region\"=us-east-1",
        "spark.hadoop.fs.s3a.path.style.access=true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled=false",
        "spark.hadoop.fs.s3a.aws.credentials.provider="
            + "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        "spark.hadoop.fs.s3a.access.key=" + KEY,
        "spark.hadoop.fs.s3a.secret.key=" + SECRET);
  }

  private static String read(FileSystem fs, org.apache.hadoop.fs.Path path) throws Exception {
    try (var in = fs.open(path)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static List<String> fitnessColumn(String history) throws Exception {
    ObjectMapper json = new ObjectMapper();
    List<String> out = new java.util.ArrayList<>();
    for (String line : history.split("\n")) {
      JsonNode h = json.readTree(line);
      out.add(h.get("candidate") + " " + h.get("genome") + " " + h.get("fitness"));
    }
    return out;
  }

  @Test
  void aRunFolderOnS3IsWrittenThereAndResumedFromThere() throws Exception {
    Configuration conf = hadoop();
    FileSystem s3 = new org.apache.hadoop.fs.Path("s3a://zoo/").getFileSystem(conf);
    // the dev set as Parquet on S3: columns checked over S3A, rows read by Spark's reader
    List<org.apache.spark.sql.Row> texts = new java.util.ArrayList<>();
    for (String line : Files.readAllLines(ToyFixtures.zoo().devSet())) {
      texts.add(
          org.apache.spark.sql.RowFactory.create(
              new ObjectMapper().readTree(line).get("text").asText()));
    }
    Path parquet = tmp.resolve("dev.parquet");
    TestSpark.session()
        .createDataFrame(
            texts,
            new org.apache.spark.sql.types.StructType()
                .add("text", org.apache.spark.sql.types.DataTypes.StringType))
        .coalesce(1)
        .write()
        .parquet(parquet.toString());
    ToyFixtures.copyTo(parquet, "s3a://zoo/dev.parquet", conf);
    Path file = tmp.resolve("s3-folder.conf");
    Files.writeString(
        file,
        ToyFixtures.config(tmp.resolve("unused"))
            + "\nevomerge.run.output-root = \"s3a://zoo/runs\"\n"
            + "evomerge.eval.dev-set = \"s3a://zoo/dev.parquet\"\n"
            + s3Settings());
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream errs = new PrintStream(err, true, StandardCharsets.UTF_8);
    assertEquals(0, RunCommand.execute(file.toFile(), List.of(), quiet, errs), err.toString());
    assertTrue(!Files.exists(tmp.resolve("unused")), "nothing is written locally");
    org.apache.hadoop.fs.FileStatus[] runs =
        s3.listStatus(new org.apache.hadoop.fs.Path("s3a://zoo/runs"));
    assertEquals(1, runs.length);
    org.apache.hadoop.fs.Path dir = runs[0].getPath();
    ObjectMapper json = new ObjectMapper();
    assertEquals(
        "completed",
        json.readTree(read(s3, new org.apache.hadoop.fs.Path(dir, "status.json")))
            .get("state")
            .asText());
    assertEquals(
        2 * 4, read(s3, new org.apache.hadoop.fs.Path(dir, "history.jsonl")).split("\n").length);
    assertEquals(
        2, read(s3, new org.apache.hadoop.fs.Path(dir, "generations.jsonl")).split("\n").length);
    for (String name :
        List.of(
            "config.conf",
            "checkpoint/search.json",
            "best.json",
            "report.md",
            "best/recipe.yaml",
            "best/config.json",
            "best/evomerge-complete.json")) {
      assertTrue(s3.exists(new org.apache.hadoop.fs.Path(dir, name)), name);
    }
    assertTrue(
        !read(s3, new org.apache.hadoop.fs.Path(dir, "config.conf")).contains(SECRET),
        "the S3 secret must not reach the run folder");
    // no temporary or checksum files: objects are written in place, in one upload each
    for (org.apache.hadoop.fs.FileStatus f : s3.listStatus(dir)) {
      assertTrue(!f.getPath().getName().startsWith("."), f.getPath().toString());
    }

    // resumed from S3 to a third generation, with the S3 settings given again
    List<String> sets = new java.util.ArrayList<>(s3Sets());
    sets.add("evomerge.run.generations=3");
    assertEquals(0, ResumeCommand.execute(dir.toString(), sets, quiet, errs), err.toString());
    String history = read(s3, new org.apache.hadoop.fs.Path(dir, "history.jsonl"));
    assertEquals(
        3, read(s3, new org.apache.hadoop.fs.Path(dir, "generations.jsonl")).split("\n").length);

    // the same as an uninterrupted three-generation run (on the local JSON-lines dev set)
    Path local = tmp.resolve("local-runs");
    Path localConf = tmp.resolve("local.conf");
    Files.writeString(localConf, ToyFixtures.config(local));
    assertEquals(
        0,
        RunCommand.execute(localConf.toFile(), List.of("evomerge.run.generations=3"), quiet, errs),
        err.toString());
    try (Stream<Path> dirs = Files.list(local)) {
      Path whole = dirs.findFirst().orElseThrow();
      assertEquals(
          fitnessColumn(Files.readString(whole.resolve("history.jsonl"))), fitnessColumn(history));
      assertEquals(
          json.readTree(whole.resolve("best.json").toFile()).get("fitness"),
          json.readTree(read(s3, new org.apache.hadoop.fs.Path(dir, "best.json"))).get("fitness"));
    }
  }

  /**
   * The event log a run writes by default lands in its s3a:// run folder, complete (renamed from
   * {@code .inprogress} when the run's session stopped), and the History Server's reader opens it:
   * the application's start and every generation's job group and description are in it.
   */
  @Test
  void theEventLogOfARunFolderOnS3IsThereAndReadable() throws Exception {
    // a running session keeps its settings (no event log): this run starts its own
    if (SparkSession.getDefaultSession().isDefined()) {
      SparkSession.getDefaultSession().get().stop();
    }
    Path file = tmp.resolve("s3-eventlog.conf");
    Files.writeString(
        file,
        ToyFixtures.config(tmp.resolve("unused"))
            + "\nevomerge.run.output-root = \"s3a://zoo/eventlog-runs\"\n"
            + s3Settings());
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    assertEquals(
        0,
        RunCommand.execute(
            file.toFile(), List.of(), quiet, new PrintStream(err, true, StandardCharsets.UTF_8)),
        err.toString(StandardCharsets.UTF_8));
    assertTrue(SparkSession.getDefaultSession().isEmpty(), "the run stops the session it started");
    Configuration conf = hadoop();
    FileSystem s3 = new org.apache.hadoop.fs.Path("s3a://zoo/").getFileSystem(conf);
    org.apache.hadoop.fs.FileStatus[] runs =
        s3.listStatus(new org.apache.hadoop.fs.Path("s3a://zoo/eventlog-runs"));
    assertEquals(1, runs.length);
    org.apache.hadoop.fs.FileStatus[] logs =
        s3.listStatus(new org.apache.hadoop.fs.Path(runs[0].getPath(), "eventlog"));
    assertEquals(1, logs.length, java.util.Arrays.toString(logs));
    EventLogFileReader reader = EventLogFileReader.apply(s3, logs[0]).getOrElse(() -> null);
    assertTrue(reader != null, "not an event log: " + logs[0].getPath());
    assertTrue(reader.completed(), "still in progress: " + logs[0].getPath());
    List<String> events = new java.util.ArrayList<>();
    List<String> descriptions = new java.util.ArrayList<>();
    ObjectMapper json = new ObjectMapper();
    // Spark 4 rolls event logs: the application's folder holds events_<n>_<app> files
    List<org.apache.hadoop.fs.FileStatus> files =
        scala.jdk.javaapi.CollectionConverters.asJava(reader.listEventLogFiles());
    assertTrue(!files.isEmpty(), "no event log files in " + logs[0].getPath());
    for (org.apache.hadoop.fs.FileStatus f : files) {
      assertTrue(f.getLen() > 0, "empty event log file " + f.getPath());
      try (java.io.BufferedReader lines =
          new java.io.BufferedReader(
              new java.io.InputStreamReader(
                  EventLogFileReader.openEventLog(f.getPath(), s3), StandardCharsets.UTF_8))) {
        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
          JsonNode event = json.readTree(line);
          events.add(event.get("Event").asText());
          JsonNode props = event.get("Properties");
          if (event.get("Event").asText().endsWith("SparkListenerJobStart")
              && props != null
              && props.has("spark.job.description")
              && "evomerge-generation".equals(props.path("spark.jobGroup.id").asText())) {
            descriptions.add(props.get("spark.job.description").asText());
          }
        }
      }
    }
    assertTrue(events.contains("SparkListenerApplicationStart"), events.toString());
    assertTrue(events.contains("SparkListenerApplicationEnd"), events.toString());
    assertEquals(
        2,
        descriptions.stream().filter(d -> d.startsWith("evomerge generation ")).count(),
        descriptions.toString());
    assertTrue(
        descriptions.get(0).startsWith("evomerge generation 1/2 · 4 candidates"),
        descriptions.toString());
  }
}
