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
import org.apache.hadoop.fs.FileUtil;
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
    ToyZoo.Zoo zoo = ToyFixtures.zoo();
    Configuration conf = hadoop();
    FileSystem s3 = new org.apache.hadoop.fs.Path("s3a://zoo/").getFileSystem(conf);
    FileSystem local = FileSystem.getLocal(new Configuration());
    StringBuilder sources = new StringBuilder();
    for (Path source : zoo.sources()) {
      String uri = "s3a://zoo/" + source.getFileName();
      FileUtil.copy(
          local,
          new org.apache.hadoop.fs.Path(source.toUri()),
          s3,
          new org.apache.hadoop.fs.Path(uri),
          false,
          conf);
      sources.append(sources.length() == 0 ? "" : ", ").append('"').append(uri).append('"');
    }
    FileUtil.copy(
        local,
        new org.apache.hadoop.fs.Path(zoo.devSet().toUri()),
        s3,
        new org.apache.hadoop.fs.Path("s3a://zoo/dev.jsonl"),
        false,
        conf);

    Path runs = tmp.resolve("runs");
    Path file = tmp.resolve("s3.conf");
    Files.writeString(
        file,
        ToyFixtures.config(runs)
            + "\nevomerge.models.sources = ["
            + sources
            + "]\nevomerge.eval.dev-set = \"s3a://zoo/dev.jsonl\"\n"
            + s3Settings());
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
    FileSystem s3 = new org.apache.hadoop.fs.Path("s3a://zoo/").getFileSystem(conf);
    List<String> args = new java.util.ArrayList<>();
    for (int i = 0; i < 2; i++) {
      String uri = "s3a://zoo/inspect/m" + i;
      FileUtil.copy(
          FileSystem.getLocal(new Configuration()),
          new org.apache.hadoop.fs.Path(zoo.sources().get(i).toUri()),
          s3,
          new org.apache.hadoop.fs.Path(uri),
          false,
          conf);
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
}
