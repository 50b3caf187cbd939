package dev.evomerge.worker.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.hdfs.server.datanode.DataNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real HDFS (Hadoop's MiniDFSCluster: one namenode, one datanode, in this JVM) on 127.0.0.1, with
 * the real {@code hdfs://} client. Blocks are 4 KiB so shards and tensors span several blocks and
 * every positioned read crosses block boundaries.
 */
class HdfsCheckpointTest {
  private static final int BLOCK = 4096;

  @TempDir static java.nio.file.Path base;

  private static MiniDFSCluster cluster;
  private static Configuration conf;
  private static String root;

  @TempDir java.nio.file.Path dir;

  @BeforeAll
  static void startCluster() throws Exception {
    cluster = MiniHdfs.start(base, BLOCK);
    conf = new Configuration(cluster.getConfiguration(0));
    root = MiniHdfs.uri(cluster) + "/models";
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.shutdown(true);
    }
  }

  private static Map<String, TensorSource> sources(Map<String, FloatTensor> t) {
    Map<String, TensorSource> s = new LinkedHashMap<>();
    t.forEach((k, v) -> s.put(k, TensorSource.of(v)));
    return s;
  }

  private static void assertLoopback(String what, InetSocketAddress a) {
    assertTrue(a.getAddress().isLoopbackAddress(), what + " listens on " + a);
  }

  @Test
  void namenodeAndDatanodeListenOnLoopbackOnly() {
    assertEquals("127.0.0.1", URI.create(root).getHost());
    assertLoopback("namenode rpc", cluster.getNameNode().getNameNodeAddress());
    assertLoopback("namenode http", cluster.getNameNode().getHttpAddress());
    assertEquals(1, cluster.getDataNodes().size());
    DataNode dn = cluster.getDataNodes().get(0);
    assertLoopback("datanode transfer", dn.getXferAddress());
    assertEquals("127.0.0.1", dn.getDatanodeId().getIpAddr());
    assertEquals(
        "127.0.0.1", dn.getConf().get("dfs.datanode.ipc.address").split(":")[0], "datanode ipc");
    assertEquals(
        "127.0.0.1", dn.getConf().get("dfs.datanode.http.address").split(":")[0], "datanode http");
  }

  @Test
  void writesAShardedModelByStagingAndRenameAndReadsItBackTensorByTensor() throws Exception {
    Map<String, FloatTensor> tensors = HfModelWriterTest.toyTensors(2, 64, 31);
    Path target = new Path(root + "/written/m1");
    FileSystem fs = target.getFileSystem(conf);
    assertTrue(HfModelWriter.hasAtomicRename(fs, conf), "HDFS renames atomically");
    fs.mkdirs(target.getParent());

    // while the writer runs, readers see no model at the target, only a hidden staging folder
    AtomicBoolean checkedMidWrite = new AtomicBoolean();
    Map<String, TensorSource> watched = new LinkedHashMap<>(sources(tensors));
    FloatTensor last = tensors.get("lm_head.weight");
    watched.put(
        "lm_head.weight",
        new TensorSource() {
          @Override
          public long[] shape() {
            return last.shape();
          }

          @Override
          public void read(long first, float[] dst, int offset, int count) {
            try {
              assertFalse(fs.exists(target), "target visible before the write finished");
              FileStatus[] siblings = fs.listStatus(target.getParent());
              assertEquals(1, siblings.length, Arrays.toString(siblings));
              assertTrue(siblings[0].getPath().getName().startsWith(".m1.tmp-"));
              checkedMidWrite.set(true);
            } catch (java.io.IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
            System.arraycopy(last.data(), (int) first, dst, offset, count);
          }
        });
    HfModelWriter.write(
        target,
        conf,
        HfModelWriterTest.config(2, 64),
        watched,
        new WriteOptions(DType.F32, 40_000),
        List.of());
    assertTrue(checkedMidWrite.get());
    FileStatus[] after = fs.listStatus(target.getParent());
    assertEquals(1, after.length, "no staging folder left: " + Arrays.toString(after));
    assertEquals("m1", after[0].getPath().getName());

    HfModelFolder model = HfModelFolder.open(target.toString(), conf);
    assertTrue(model.isSharded());
    assertTrue(model.shards().size() > 2, "shards: " + model.shards().size());
    for (SafetensorsFile shard : model.shards()) {
      assertTrue(shard.path().toString().startsWith("hdfs://127.0.0.1:"), shard.path().toString());
      assertInstanceOf(ByteSource.Remote.class, shard.source(), "positioned reads, not a map");
      assertTrue(
          fs.getFileBlockLocations(fs.getFileStatus(shard.path()), 0, shard.length()).length > 1,
          "shard spans several blocks");
    }
    for (Map.Entry<String, FloatTensor> e : tensors.entrySet()) {
      assertEquals(e.getValue(), model.readFloat(e.getKey()), e.getKey());
    }
    // a positioned range that starts and ends inside blocks
    String name = "model.layers.1.mlp.up_proj.weight";
    float[] want = tensors.get(name).data();
    int from = BLOCK / 4 - 3;
    float[] range = new float[BLOCK / 2];
    model.readFloat(name, from, range, 0, range.length);
    assertArrayEquals(Arrays.copyOfRange(want, from, from + range.length), range);
    // vectored: several tensors of one shard in one call, same values
    SafetensorsFile shard = model.shardOf(name);
    List<String> names = List.copyOf(shard.tensors().keySet());
    Map<String, FloatTensor> vectored = shard.readFloats(names);
    for (String n : names) {
      assertEquals(tensors.get(n), vectored.get(n), n);
    }

    CheckpointException exists =
        assertThrows(
            CheckpointException.class,
            () ->
                HfModelWriter.write(
                    target, conf, HfModelWriterTest.config(2, 64), tensors, DType.F32, List.of()));
    assertTrue(exists.getMessage().contains("already exists"), exists.getMessage());
  }

  @Test
  void aFailedWriteLeavesNothingThatLooksLikeAModel() throws Exception {
    Path parent = new Path(root + "/failing");
    FileSystem fs = parent.getFileSystem(conf);
    fs.mkdirs(parent);
    Map<String, TensorSource> s = sources(HfModelWriterTest.toyTensors(2, 32, 32));
    s.put(
        "zzz.last", HfModelWriterTest.failingAfter(new FloatTensor(new long[] {4}, new float[4])));
    assertThrows(
        IllegalStateException.class,
        () ->
            HfModelWriter.write(
                new Path(parent, "out"),
                conf,
                HfModelWriterTest.config(2, 32),
                s,
                new WriteOptions(DType.BF16, 5000),
                List.of()));
    assertEquals(0, fs.listStatus(parent).length, Arrays.toString(fs.listStatus(parent)));
  }

  @Test
  void inspectAndCompatibilityReadHeadersAndIndexOnHdfs() throws Exception {
    Path a = new Path(root + "/inspect/a");
    Path b = new Path(root + "/inspect/b");
    Map<String, FloatTensor> tensors = HfModelWriterTest.toyTensors(3, 32, 33);
    HfModelWriter.write(
        a,
        conf,
        HfModelWriterTest.config(3, 32),
        sources(tensors),
        new WriteOptions(DType.BF16, 6000),
        List.of());
    HfModelWriter.write(
        b,
        conf,
        HfModelWriterTest.config(2, 32),
        sources(HfModelWriterTest.toyTensors(2, 32, 34)),
        new WriteOptions(DType.F16, 6000),
        List.of());
    HfModelFolder ma = HfModelFolder.open(a.toString(), conf);
    ModelSummary summary = ModelSummary.of(ma);
    assertEquals(ma.shards().size(), summary.shards());
    assertTrue(summary.shards() > 1);
    assertEquals(3, summary.architecture().layers());
    assertEquals(32, summary.architecture().hiddenSize());
    assertEquals(ma.tensorBytes(), summary.tensorBytes());
    assertEquals(tensors.size(), summary.tensors().size());
    assertEquals(Map.of(DType.BF16, ma.tensorBytes()), summary.dtypeBytes());
    assertTrue(summary.toText().contains(ma.folder().toString()), summary.toText());
    assertEquals(ma.folder().toString(), summary.toJson().get("uri").asText());

    HfModelFolder mb = HfModelFolder.open(b.toString(), conf);
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> ModelCompatibility.check(List.of(ma, mb)));
    assertTrue(e.getMessage().contains("/inspect/a"), e.getMessage());
    assertTrue(e.getMessage().contains("/inspect/b"), e.getMessage());
    ModelCompatibility.check(List.of(ma, HfModelFolder.open(a.toString(), conf)));
  }

  @Test
  void executorCacheFetchesAShardOnceAndAgainWhenItIsRewritten() throws Exception {
    Path target = new Path(root + "/cached/m2");
    Map<String, FloatTensor> tensors = HfModelWriterTest.toyTensors(2, 32, 35);
    HfModelWriter.write(
        target,
        conf,
        HfModelWriterTest.config(2, 32),
        sources(tensors),
        new WriteOptions(DType.F32, 8000),
        List.of());
    ShardCache cache = new ShardCache(dir.resolve("cache"), 1L << 30);
    HfModelFolder first = HfModelFolder.open(target.toString(), conf, cache);
    int shards = first.shards().size();
    assertTrue(shards > 1);
    assertEquals(shards, cache.fetches());
    for (SafetensorsFile s : first.shards()) {
      assertInstanceOf(ByteSource.Mapped.class, s.source(), "read from the local copy");
    }
    assertEquals(tensors, first.readAllFloat());
    // a second task on the same executor: nothing crosses the network
    HfModelFolder second = HfModelFolder.open(target.toString(), conf, cache);
    assertEquals(shards, cache.fetches());
    assertEquals(tensors, second.readAllFloat());

    // the shard holding one tensor is rewritten in place: same path and length, new bytes
    String name = "model.layers.0.self_attn.q_proj.weight";
    Path shardPath = first.shardOf(name).path();
    FileSystem fs = shardPath.getFileSystem(conf);
    FileStatus before = fs.getFileStatus(shardPath);
    byte[] bytes;
    try (var in = fs.open(shardPath)) {
      bytes = in.readAllBytes();
    }
    TensorInfo info = first.shardOf(name).info(name);
    long dataStart =
        bytes.length
            - first.shardOf(name).tensors().values().stream().mapToLong(TensorInfo::byteSize).sum();
    int at = (int) (dataStart + info.begin());
    float old = tensors.get(name).data()[0];
    java.nio.ByteBuffer.wrap(bytes, at, 4)
        .order(java.nio.ByteOrder.LITTLE_ENDIAN)
        .putFloat(old + 1.5f);
    try (FSDataOutputStream out = fs.create(shardPath, true)) {
      out.write(bytes);
    }
    FileStatus now = fs.getFileStatus(shardPath);
    if (now.getModificationTime() == before.getModificationTime()) {
      // a rewrite within the same millisecond: move the clock as a later writer would
      fs.setTimes(shardPath, before.getModificationTime() + 1, -1);
      now = fs.getFileStatus(shardPath);
    }
    assertEquals(before.getLen(), now.getLen());
    assertNotEquals(ShardCache.key(before), ShardCache.key(now), "key has the modification time");

    HfModelFolder third = HfModelFolder.open(target.toString(), conf, cache);
    assertEquals(shards + 1, cache.fetches(), "only the rewritten shard is fetched again");
    assertEquals(old + 1.5f, third.readFloat(name).data()[0]);
    assertNotEquals(first.versionKey(), third.versionKey());
    List<String> others = new ArrayList<>(tensors.keySet());
    others.remove(name);
    for (String n : others) {
      assertEquals(tensors.get(n), third.readFloat(n), n);
    }
  }
}
