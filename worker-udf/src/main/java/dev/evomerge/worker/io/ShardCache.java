package dev.evomerge.worker.io;

import com.google.common.base.Preconditions;
import com.google.common.hash.Hashing;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;

/**
 * An executor-local disk cache of remote shards, so that a shard crosses the network once per
 * executor rather than once per task. Entries are keyed by path, length and modification time (and
 * etag where the filesystem gives one), so a rewritten shard is fetched again; the least recently
 * used entries are evicted to stay within a byte budget. Safe for concurrent tasks in one JVM (one
 * download per key) and across JVMs sharing the directory (downloads land under a temporary name
 * and are moved into place atomically).
 */
public final class ShardCache {
  private static final ConcurrentHashMap<String, ShardCache> SHARED = new ConcurrentHashMap<>();

  private final java.nio.file.Path dir;
  private final long budgetBytes;
  private final ConcurrentHashMap<String, Object> locks = new ConcurrentHashMap<>();
  private volatile long fetches;

  public ShardCache(java.nio.file.Path dir, long budgetBytes) {
    Preconditions.checkArgument(budgetBytes > 0, "Cache budget must be positive: %s", budgetBytes);
    this.dir = dir;
    this.budgetBytes = budgetBytes;
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create shard cache folder " + dir, e);
    }
  }

  /** One cache per directory in this JVM (executors share it between tasks). */
  public static ShardCache shared(java.nio.file.Path dir, long budgetBytes) {
    return SHARED.computeIfAbsent(
        dir.toAbsolutePath().normalize().toString(), d -> new ShardCache(dir, budgetBytes));
  }

  public java.nio.file.Path dir() {
    return dir;
  }

  /** Number of downloads this cache has made (for tests and metrics). */
  public long fetches() {
    return fetches;
  }

  /** Cache key: path, length, modification time and etag if any. */
  static String key(FileStatus status) {
    String etag = status instanceof org.apache.hadoop.fs.EtagSource e ? e.getEtag() : null;
    String id =
        status.getPath()
            + "|"
            + status.getLen()
            + "|"
            + status.getModificationTime()
            + "|"
            + (etag == null ? "" : etag);
    return Hashing.sha256().hashString(id, StandardCharsets.UTF_8).toString().substring(0, 32);
  }

  /**
   * A local copy of the file described by {@code status}, downloaded if not cached. A shard larger
   * than the whole budget is not cached: {@code null} is returned and the caller reads remotely.
   */
  public java.nio.file.Path localCopy(FileSystem fs, FileStatus status) {
    if (status.getLen() > budgetBytes) {
      return null;
    }
    String key = key(status);
    String name = key + "-" + sanitize(status.getPath().getName());
    java.nio.file.Path local = dir.resolve(name);
    synchronized (locks.computeIfAbsent(key, k -> new Object())) {
      try {
        if (Files.isRegularFile(local) && Files.size(local) == status.getLen()) {
          Files.setLastModifiedTime(local, FileTime.fromMillis(System.currentTimeMillis()));
          return local;
        }
        evictFor(status.getLen());
        java.nio.file.Path tmp = Files.createTempFile(dir, ".fetch-", ".part");
        try {
          try (InputStream in =
              ByteSource.open(fs, status, fs.getConf()) instanceof ByteSource.Remote r
                  ? r.stream()
                  : fs.open(status.getPath())) {
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
          }
          if (Files.size(tmp) != status.getLen()) {
            throw new CheckpointException(
                String.format(
                    "Download of %s gave %d bytes, expected %d",
                    status.getPath(), Files.size(tmp), status.getLen()));
          }
          try {
            Files.move(tmp, local, StandardCopyOption.ATOMIC_MOVE);
          } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, local, StandardCopyOption.REPLACE_EXISTING);
          }
          fetches++;
          return local;
        } finally {
          Files.deleteIfExists(tmp);
        }
      } catch (IOException e) {
        throw new CheckpointException(
            String.format("Cannot cache %s in %s: %s", status.getPath(), dir, e.getMessage()), e);
      }
    }
  }

  private static String sanitize(String name) {
    return name.replaceAll("[^A-Za-z0-9._-]", "_");
  }

  /** Deletes least recently used entries until {@code incoming} more bytes fit in the budget. */
  private synchronized void evictFor(long incoming) throws IOException {
    List<java.nio.file.Path> entries = new ArrayList<>();
    try (Stream<java.nio.file.Path> s = Files.list(dir)) {
      s.filter(p -> !p.getFileName().toString().startsWith(".")).forEach(entries::add);
    }
    long used = 0;
    for (java.nio.file.Path p : entries) {
      used += Files.size(p);
    }
    entries.sort(Comparator.comparing(ShardCache::lastModified));
    for (java.nio.file.Path p : entries) {
      if (used + incoming <= budgetBytes) {
        break;
      }
      long size = Files.size(p);
      // an open memory map keeps the evicted bytes valid until the reader drops it
      Files.deleteIfExists(p);
      used -= size;
    }
  }

  private static FileTime lastModified(java.nio.file.Path p) {
    try {
      return Files.getLastModifiedTime(p);
    } catch (IOException e) {
      return FileTime.fromMillis(0);
    }
  }
}
