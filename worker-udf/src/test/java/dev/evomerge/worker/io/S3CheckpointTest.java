package dev.evomerge.worker.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real S3A client against an in-process s3proxy (in-memory "transient" store) on 127.0.0.1,
 * with path-style access and small retry settings so failures are fast.
 */
class S3CheckpointTest {
  private static final String BUCKET = "models";
  private static final String KEY = "AKIDEVOMERGE";
  private static final String SECRET = "evomerge-secret";

  private static BlobStoreContext context;
  private static S3Proxy proxy;

  @TempDir java.nio.file.Path dir;

  @BeforeAll
  static void startServer() throws Exception {
    Properties props = new Properties();
    context =
        ContextBuilder.newBuilder("transient")
            .credentials("identity", "credential")
            .overrides(props)
            .build(BlobStoreContext.class);
    BlobStore store = context.getBlobStore();
    store.createContainerInLocation(null, BUCKET);
    proxy = start(store);
  }

  private static S3Proxy start(BlobStore store) throws Exception {
    return start(store, 0);
  }

  private static S3Proxy start(BlobStore store, int port) throws Exception {
    S3Proxy p =
        S3Proxy.builder()
            .blobStore(store)
            .endpoint(URI.create("http://127.0.0.1:" + port))
            .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, KEY, SECRET)
            .build();
    p.start();
    for (int i = 0; i < 500 && !"STARTED".equals(p.getState()); i++) {
      Thread.sleep(10);
    }
    return p;
  }

  @AfterAll
  static void stopServer() throws Exception {
    proxy.stop();
    context.close();
  }

  static Configuration s3Conf(int port) {
    Configuration c = new Configuration();
    c.set("fs.s3a.endpoint", "http://127.0.0.1:" + port);
    c.set("fs.s3a.endpoint.region", "us-east-1");
    c.setBoolean("fs.s3a.path.style.access", true);
    c.setBoolean("fs.s3a.connection.ssl.enabled", false);
    c.set(
        "fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
    c.set("fs.s3a.access.key", KEY);
    c.set("fs.s3a.secret.key", SECRET);
    c.setInt("fs.s3a.attempts.maximum", 1);
    c.setInt("fs.s3a.retry.limit", 2);
    c.set("fs.s3a.retry.interval", "20ms");
    c.setInt("fs.s3a.retry.throttle.limit", 2);
    c.set("fs.s3a.retry.throttle.interval", "20ms");
    c.setBoolean("fs.s3a.impl.disable.cache", true);
    return c;
  }

  private static Map<String, TensorSource> sources(Map<String, FloatTensor> t) {
    Map<String, TensorSource> s = new LinkedHashMap<>();
    t.forEach((k, v) -> s.put(k, TensorSource.of(v)));
    return s;
  }

  @Test
  void writesAShardedModelToS3AndReadsItBackWithPositionedReads() throws Exception {
    Configuration conf = s3Conf(proxy.getPort());
    Map<String, FloatTensor> tensors = HfModelWriterTest.toyTensors(2, 16, 11);
    String uri = "s3a://" + BUCKET + "/written/m1";
    HfModelWriter.write(
        new Path(uri),
        conf,
        HfModelWriterTest.config(2, 16),
        sources(tensors),
        new WriteOptions(DType.F32, 3000),
        List.of());
    HfModelFolder model = HfModelFolder.open(uri, conf);
    assertTrue(model.isSharded());
    assertTrue(model.shards().size() > 2);
    assertEquals(tensors, model.readAllFloat());
    float[] range = new float[5];
    String name = "model.layers.1.mlp.up_proj.weight";
    model.readFloat(name, 100, range, 0, 5);
    float[] want = tensors.get(name).data();
    assertArrayEquals(java.util.Arrays.copyOfRange(want, 100, 105), range);
    assertThrows(
        CheckpointException.class,
        () ->
            HfModelWriter.write(
                new Path(uri),
                conf,
                HfModelWriterTest.config(2, 16),
                tensors,
                DType.F32,
                List.of()));
  }

  @Test
  void readsALocallyWrittenShardedModelCopiedToS3ThroughTheExecutorCache() throws Exception {
    Configuration conf = s3Conf(proxy.getPort());
    Map<String, FloatTensor> tensors = HfModelWriterTest.toyTensors(2, 16, 12);
    Path local = new Path(dir.resolve("local").toUri());
    HfModelWriter.write(
        local,
        new Configuration(),
        HfModelWriterTest.config(2, 16),
        sources(tensors),
        new WriteOptions(DType.BF16, 2000),
        List.of());
    Path remote = new Path("s3a://" + BUCKET + "/copied/m2");
    FileSystem s3 = remote.getFileSystem(conf);
    FileUtil.copy(local.getFileSystem(new Configuration()), local, s3, remote, false, conf);

    HfModelFolder direct = HfModelFolder.open(remote.toString(), conf);
    ShardCache cache = new ShardCache(dir.resolve("cache"), 1L << 30);
    HfModelFolder cached = HfModelFolder.open(remote.toString(), conf, cache);
    int shards = direct.shards().size();
    assertTrue(shards > 1);
    assertEquals(shards, cache.fetches());
    for (String name : tensors.keySet()) {
      assertEquals(direct.readFloat(name), cached.readFloat(name));
      float[] want = tensors.get(name).data();
      assertEquals(HfModelWriterTest.bf16(want[0]), cached.readFloat(name).data()[0]);
    }
    // a second task on the same executor: no network for the shards
    HfModelFolder again = HfModelFolder.open(remote.toString(), conf, cache);
    assertEquals(shards, cache.fetches());
    assertEquals(direct.readAllFloat(), again.readAllFloat());
    assertEquals(direct.versionKey(), again.versionKey());

    // executors get the cache from configuration alone
    Configuration withCache = s3Conf(proxy.getPort());
    withCache.set(HfModelFolder.CACHE_DIR_KEY, dir.resolve("conf-cache").toString());
    withCache.set(HfModelFolder.CACHE_BYTES_KEY, "64m");
    HfModelFolder viaConf = HfModelFolder.open(remote.toString(), withCache);
    assertEquals(direct.readAllFloat(), viaConf.readAllFloat());
    assertEquals(shards, ShardCache.shared(dir.resolve("conf-cache"), 1).fetches());

    // inspect works on s3a: headers and index only
    ModelSummary summary = ModelSummary.of(direct);
    assertEquals(shards, summary.shards());
    assertEquals(2, summary.architecture().layers());
    assertEquals(direct.tensorBytes(), summary.tensorBytes());
    assertTrue(summary.toText().contains("s3a://" + BUCKET + "/copied/m2"), summary.toText());
  }

  @Test
  void serverGoingAwayMidReadIsAClearErrorNotAWrongTensor() throws Exception {
    S3Proxy second = start(context.getBlobStore());
    Configuration conf = s3Conf(second.getPort());
    Random r = new Random(13);
    Map<String, FloatTensor> tensors = new LinkedHashMap<>();
    tensors.put("big", HfModelWriterTest.random(r, 3, 1 << 16));
    String uri = "s3a://" + BUCKET + "/vanishing/m3";
    HfModelWriter.write(
        new Path(uri), conf, HfModelWriterTest.config(1, 16), tensors, DType.F32, List.of());
    HfModelFolder model = HfModelFolder.open(uri, conf);
    AtomicInteger chunks = new AtomicInteger();
    float[] want = tensors.get("big").data();
    long start = System.nanoTime();
    CheckpointException e =
        assertThrows(
            CheckpointException.class,
            () ->
                model
                    .shardOf("big")
                    .forEachChunk(
                        "big",
                        1 << 16,
                        (first, values, n) -> {
                          for (int i = 0; i < n; i++) {
                            assertEquals(want[(int) first + i], values[i]);
                          }
                          if (chunks.incrementAndGet() == 1) {
                            try {
                              second.stop();
                            } catch (Exception ex) {
                              throw new IllegalStateException(ex);
                            }
                          }
                        }));
    assertEquals(1, chunks.get());
    assertTrue(
        e.getMessage().contains("big") && e.getMessage().contains("vanishing"), e.getMessage());
    assertTrue(System.nanoTime() - start < 60e9, "failed fast");
  }

  @Test
  void severalTensorsOfAShardReadVectoredEqualTheTensorsReadOneByOne() throws Exception {
    Configuration conf = s3Conf(proxy.getPort());
    Map<String, FloatTensor> tensors = HfModelWriterTest.toyTensors(3, 16, 21);
    String uri = "s3a://" + BUCKET + "/vectored/m4";
    HfModelWriter.write(
        new Path(uri),
        conf,
        HfModelWriterTest.config(3, 16),
        sources(tensors),
        new WriteOptions(DType.BF16, 4000),
        List.of());
    HfModelFolder model = HfModelFolder.open(uri, conf);
    assertTrue(model.shards().size() > 1);
    long calls = 0;
    for (SafetensorsFile shard : model.shards()) {
      List<String> names = List.copyOf(shard.tensors().keySet());
      assertTrue(names.size() > 1, "several tensors per shard");
      ByteSource.Remote remote = (ByteSource.Remote) shard.source();
      long before = remote.vectoredReads.get();
      Map<String, FloatTensor> vectored = shard.readFloats(names);
      assertEquals(before + 1, remote.vectoredReads.get(), "one vectored read for the shard");
      assertEquals(names, List.copyOf(vectored.keySet()));
      for (String name : names) {
        assertEquals(shard.readFloat(name), vectored.get(name), name);
        assertEquals(
            HfModelWriterTest.bf16(tensors.get(name).data()[3]), vectored.get(name).data()[3]);
      }
      // a small batch budget: one vectored read per tensor, same values, in the order asked
      List<String> reversed = new java.util.ArrayList<>(names);
      java.util.Collections.reverse(reversed);
      Map<String, FloatTensor> small = new LinkedHashMap<>();
      before = remote.vectoredReads.get();
      shard.readFloats(reversed, 1, small::put);
      assertEquals(before + names.size(), remote.vectoredReads.get());
      assertEquals(vectored, small);
      calls += remote.vectoredReads.get();
    }
    // the folder reads shard by shard, vectored, in the order asked
    List<String> all = new java.util.ArrayList<>(tensors.keySet());
    java.util.Collections.shuffle(all, new Random(5));
    Map<String, FloatTensor> read = model.readFloats(all);
    assertEquals(all, List.copyOf(read.keySet()));
    for (String name : all) {
      assertEquals(model.readFloat(name), read.get(name));
    }
    assertTrue(calls > 0);
  }

  /** Rewrites the stored object behind the client's back (same key, new bytes). */
  private static void replaceObject(String key, byte[] bytes) {
    BlobStore store = context.getBlobStore();
    store.putBlob(
        BUCKET, store.blobBuilder(key).payload(bytes).contentLength(bytes.length).build());
  }

  private static byte[] objectBytes(String key) throws Exception {
    try (java.io.InputStream in =
        context.getBlobStore().getBlob(BUCKET, key).getPayload().openStream()) {
      return in.readAllBytes();
    }
  }

  /**
   * A shard replaced or truncated while a tensor is being read chunk by chunk: the next read fails
   * with an error naming the tensor and file, never a tensor mixing old and new bytes.
   */
  @Test
  void anObjectChangedOrTruncatedMidReadIsAClearErrorNotAMixedTensor() throws Exception {
    Configuration conf = s3Conf(proxy.getPort());
    Random r = new Random(17);
    Map<String, FloatTensor> tensors = new LinkedHashMap<>();
    tensors.put("big", HfModelWriterTest.random(r, 4, 1 << 14));
    tensors.put("other", HfModelWriterTest.random(r, 2, 1 << 14));
    for (String change : List.of("same length, other bytes", "truncated")) {
      String uri = "s3a://" + BUCKET + "/changing/m5";
      HfModelWriter.write(
          new Path(uri), conf, HfModelWriterTest.config(1, 16), tensors, DType.F32, List.of());
      HfModelFolder model = HfModelFolder.open(uri, conf);
      String key = model.shardOf("big").path().toUri().getPath().substring(1);
      byte[] original = objectBytes(key);
      float[] want = tensors.get("big").data();
      AtomicInteger chunks = new AtomicInteger();
      CheckpointException e =
          assertThrows(
              CheckpointException.class,
              () ->
                  model
                      .shardOf("big")
                      .forEachChunk(
                          "big",
                          1 << 14,
                          (first, values, n) -> {
                            for (int i = 0; i < n; i++) {
                              assertEquals(want[(int) first + i], values[i]);
                            }
                            if (chunks.incrementAndGet() == 1) {
                              byte[] changed =
                                  change.startsWith("same")
                                      ? original.clone()
                                      : java.util.Arrays.copyOf(original, original.length / 2);
                              for (int i = original.length / 2; i < changed.length; i++) {
                                changed[i] ^= 0x55;
                              }
                              replaceObject(key, changed);
                            }
                          }),
              change);
      assertEquals(1, chunks.get(), change);
      assertTrue(
          e.getMessage().contains("big")
              && e.getMessage().contains("changing/m5")
              && e.getMessage().contains("changed on the server after it was opened"),
          change + ": " + e.getMessage());
      // the vectored path fails the same way
      CheckpointException v =
          assertThrows(
              CheckpointException.class,
              () -> model.readFloats(List.of("big", "other")),
              change + " (vectored)");
      assertTrue(
          v.getMessage().contains("tensor big from")
              && v.getMessage().contains("changed on the server after it was opened"),
          change + ": " + v.getMessage());
      new Path(uri).getFileSystem(conf).delete(new Path(uri), true);
    }
  }

  /**
   * The server goes away after the first chunk of a tensor and comes back on the same port a moment
   * later: the client's retries (fs.s3a.retry.*) carry the read over and every value is right.
   */
  @Test
  void aServerThatComesBackMidReadIsRetriedAndTheTensorIsRight() throws Exception {
    S3Proxy first = start(context.getBlobStore());
    int port = first.getPort();
    Configuration conf = s3Conf(port);
    conf.setInt("fs.s3a.retry.limit", 8);
    conf.set("fs.s3a.retry.interval", "250ms");
    Random r = new Random(19);
    Map<String, FloatTensor> tensors = new LinkedHashMap<>();
    tensors.put("big", HfModelWriterTest.random(r, 3, 1 << 14));
    String uri = "s3a://" + BUCKET + "/flaky/m6";
    HfModelWriter.write(
        new Path(uri), conf, HfModelWriterTest.config(1, 16), tensors, DType.F32, List.of());
    HfModelFolder model = HfModelFolder.open(uri, conf);
    float[] want = tensors.get("big").data();
    float[] got = new float[want.length];
    java.util.concurrent.atomic.AtomicReference<S3Proxy> second =
        new java.util.concurrent.atomic.AtomicReference<>();
    Thread restart = null;
    try {
      AtomicInteger chunks = new AtomicInteger();
      for (int c = 0; c < 3; c++) {
        model.readFloat("big", c << 14, got, c << 14, 1 << 14);
        if (chunks.incrementAndGet() == 1) {
          first.stop();
          restart =
              new Thread(
                  () -> {
                    try {
                      Thread.sleep(400);
                      second.set(start(context.getBlobStore(), port));
                    } catch (Exception e) {
                      throw new IllegalStateException(e);
                    }
                  });
          restart.start();
        }
      }
      restart.join();
      assertTrue(second.get() != null, "server restarted");
      assertArrayEquals(want, got);
    } finally {
      if (restart != null) {
        restart.join();
      }
      if (second.get() != null) {
        second.get().stop();
      }
    }
  }
}
