package dev.evomerge.worker.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardCacheTest {
  @TempDir java.nio.file.Path dir;

  private final Configuration conf = new Configuration();

  private FileStatus file(String name, int size, int fill) throws Exception {
    java.nio.file.Path p = dir.resolve("remote").resolve(name);
    Files.createDirectories(p.getParent());
    byte[] b = new byte[size];
    java.util.Arrays.fill(b, (byte) fill);
    Files.write(p, b);
    Path hp = new Path(p.toUri());
    return hp.getFileSystem(conf).getFileStatus(hp);
  }

  @Test
  void fetchesOncePerVersionAndEvictsLeastRecentlyUsedWithinBudget() throws Exception {
    FileSystem fs = FileSystem.getLocal(conf);
    ShardCache cache = new ShardCache(dir.resolve("cache"), 1000);
    FileStatus a = file("a.safetensors", 600, 1);
    java.nio.file.Path la = cache.localCopy(fs, a);
    assertArrayEquals(
        Files.readAllBytes(dir.resolve("remote/a.safetensors")), Files.readAllBytes(la));
    assertEquals(la, cache.localCopy(fs, a));
    assertEquals(1, cache.fetches());

    FileStatus b = file("b.safetensors", 500, 2);
    cache.localCopy(fs, b);
    assertEquals(2, cache.fetches());
    assertFalse(Files.exists(la), "a evicted to fit b within 1000 bytes");
    cache.localCopy(fs, a);
    assertEquals(3, cache.fetches());

    // same path, new content and length: a new key, fetched again
    FileStatus a2 = file("a.safetensors", 300, 3);
    java.nio.file.Path la2 = cache.localCopy(fs, a2);
    assertEquals(4, cache.fetches());
    assertEquals(300, Files.size(la2));
    assertEquals(3, Files.readAllBytes(la2)[0]);

    assertNull(cache.localCopy(fs, file("huge.safetensors", 2000, 4)), "larger than the budget");
    long used = 0;
    try (var s = Files.list(dir.resolve("cache"))) {
      for (java.nio.file.Path p : s.toList()) {
        used += Files.size(p);
      }
    }
    assertTrue(used <= 1000, "cache holds " + used);
  }

  @Test
  void concurrentTasksDownloadAShardOnce() throws Exception {
    FileSystem fs = FileSystem.getLocal(conf);
    ShardCache cache = ShardCache.shared(dir.resolve("shared"), 1 << 20);
    FileStatus a = file("a.safetensors", 100_000, 5);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<java.nio.file.Path>> results = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        results.add(pool.submit(() -> cache.localCopy(fs, a)));
      }
      for (Future<java.nio.file.Path> f : results) {
        assertEquals(100_000, Files.size(f.get()));
      }
    } finally {
      pool.shutdown();
    }
    assertEquals(1, cache.fetches());
    assertEquals(cache, ShardCache.shared(dir.resolve("shared"), 1 << 20));
  }
}
