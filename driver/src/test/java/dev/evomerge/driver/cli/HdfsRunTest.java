package dev.evomerge.driver.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.inspect.InspectCommand;
import dev.evomerge.driver.run.ToyFixtures;
import dev.evomerge.driver.spark.TestSpark;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.MiniHdfs;
import dev.evomerge.worker.io.SafetensorsFile;
import dev.evomerge.worker.io.TensorInfo;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A whole run on a real HDFS (MiniDFSCluster on 127.0.0.1): sources and dev set read from {@code
 * hdfs://}, the run folder and its sharded best model written there, then {@code evomerge inspect}
 * on the written model.
 */
class HdfsRunTest {
  @TempDir static Path base;

  private static MiniDFSCluster cluster;
  private static String root;

  @TempDir Path tmp;

  @BeforeAll
  static void start() throws Exception {
    TestSpark.session();
    cluster = MiniHdfs.start(base, 1 << 20);
    root = MiniHdfs.uri(cluster);
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.shutdown(true);
    }
  }

  @Test
  void aRunReadsFromAndWritesItsFolderAndShardedBestModelToHdfs() throws Exception {
    Configuration conf = new Configuration();
    FileSystem hdfs = new org.apache.hadoop.fs.Path(root + "/").getFileSystem(conf);
    String zooLines = ToyFixtures.zooUnder(root + "/zoo", conf);

    String runs = root + "/evomerge/runs";
    Path file = tmp.resolve("hdfs.conf");
    Files.writeString(
        file,
        ToyFixtures.config(tmp.resolve("unused"))
            + "\n"
            + zooLines
            + "evomerge.run.output-root = \""
            + runs
            + "\"\nevomerge.merge.max-shard-size = 6KB\n");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        RunCommand.execute(
            file.toFile(),
            List.of(),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(0, code, err.toString(StandardCharsets.UTF_8));

    FileStatus[] made = hdfs.listStatus(new org.apache.hadoop.fs.Path(runs));
    assertEquals(1, made.length, Arrays.toString(made));
    org.apache.hadoop.fs.Path dir = made[0].getPath();
    ObjectMapper json = new ObjectMapper();
    assertEquals(
        "completed",
        read(hdfs, json, new org.apache.hadoop.fs.Path(dir, "status.json")).get("state").asText());
    JsonNode best = read(hdfs, json, new org.apache.hadoop.fs.Path(dir, "best.json"));
    assertTrue(best.get("models").get(0).get("model").asText().startsWith(root + "/zoo/"));
    List<String> entries = new ArrayList<>();
    for (FileStatus s : hdfs.listStatus(dir)) {
      entries.add(s.getPath().getName());
    }
    assertTrue(entries.contains("best"), entries.toString());
    assertTrue(entries.stream().noneMatch(n -> n.contains(".tmp-")), entries.toString());

    String bestUri = dir + "/best";
    HfModelFolder written = HfModelFolder.open(bestUri, conf);
    assertTrue(written.isSharded());
    assertTrue(written.shards().size() > 2, "shards: " + written.shards().size());
    for (SafetensorsFile shard : written.shards()) {
      long data = shard.tensors().values().stream().mapToLong(TensorInfo::byteSize).sum();
      assertTrue(data <= 6000 || shard.tensors().size() == 1, shard.path() + ": " + data);
    }
    HfModelFolder source = HfModelFolder.open(ToyFixtures.zoo().sources().get(0).toString(), conf);
    assertEquals(source.tensors().keySet(), written.tensors().keySet());
    written
        .readAllFloat()
        .forEach(
            (name, t) -> {
              assertArrayEquals(source.tensors().get(name).shape(), t.shape(), name);
              assertTrue(Float.isFinite(t.data()[0]), name);
            });

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream inspectErr = new ByteArrayOutputStream();
    int inspected =
        InspectCommand.run(
            new String[] {bestUri, "--json"},
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(inspectErr, true, StandardCharsets.UTF_8));
    assertEquals(0, inspected, inspectErr.toString(StandardCharsets.UTF_8));
    JsonNode model = json.readTree(out.toString(StandardCharsets.UTF_8)).get("models").get(0);
    assertEquals(written.folder().toString(), model.get("uri").asText());
    assertEquals(written.shards().size(), model.get("shards").asInt());
    assertEquals(
        source.config().get("num_hidden_layers").asInt(),
        model.get("architecture").get("layers").asInt());
  }

  private static JsonNode read(FileSystem fs, ObjectMapper json, org.apache.hadoop.fs.Path p)
      throws Exception {
    try (InputStream in = fs.open(p)) {
      return json.readTree(in);
    }
  }
}
