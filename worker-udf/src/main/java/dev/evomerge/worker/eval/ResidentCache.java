package dev.evomerge.worker.eval;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A cache of resident values (source tensors and task vectors) bounded in bytes, one budget for
 * host memory and one for device memory, evicting the least recently used idle entry first.
 * Evicting closes the entry, which releases its arrays (and with them the device memory).
 *
 * <p>Entries are used through leases: an entry in use by a running task is never closed; while
 * leases hold more than the budget the cache stays over it, and idle entries are evicted as soon as
 * they are released. Loads happen one at a time (a second task wanting the same entry waits and
 * then hits). Thread-safe.
 *
 * @param <V> what is cached
 */
public final class ResidentCache<V extends ResidentCache.Resident> {
  /** A cached value: its size, where it lives, and how to release it. */
  public interface Resident extends AutoCloseable {
    /** Bytes held (on the device when {@link #onDevice()}, else in host memory). */
    long residentBytes();

    /** True when the value lives in accelerator memory, false for host memory (the CPU). */
    boolean onDevice();

    /** Bytes loading the value read from storage (headers and tensor data). */
    long bytesRead();

    /** Releases the value's memory. */
    @Override
    void close();
  }

  /** Loads one value; the estimate comes first so room can be made before the load. */
  public interface Loader<V> {
    /** Bytes the value will hold (may read headers). */
    long estimateBytes();

    /** Reads and prepares the value. */
    V load();
  }

  /**
   * The cache's counters since the JVM started.
   *
   * @param hits acquisitions served by a resident entry (nothing read)
   * @param misses acquisitions that loaded from storage
   * @param evictions entries closed to stay within a budget
   * @param entries entries resident now
   * @param hostBytes bytes resident in host memory now
   * @param deviceBytes bytes resident in device memory now
   * @param storageBytesRead bytes read from storage by loads
   */
  public record Stats(
      long hits,
      long misses,
      long evictions,
      int entries,
      long hostBytes,
      long deviceBytes,
      long storageBytesRead) {}

  /** One use of an entry; closing it makes the entry evictable again. */
  public final class Lease implements AutoCloseable {
    private final Entry entry;
    private boolean closed;

    private Lease(Entry entry) {
      this.entry = entry;
    }

    public V value() {
      Preconditions.checkState(!closed, "Lease of %s is closed", entry.key);
      return entry.value;
    }

    @Override
    public void close() {
      synchronized (ResidentCache.this) {
        if (!closed) {
          closed = true;
          entry.users--;
          evictIdleOverBudget();
        }
      }
    }
  }

  private final class Entry {
    final String key;
    final V value;
    final long bytes;
    final boolean onDevice;
    int users;

    Entry(String key, V value) {
      this.key = key;
      this.value = value;
      this.bytes = value.residentBytes();
      this.onDevice = value.onDevice();
    }
  }

  private final String hostKey;
  private final String deviceKey;
  private final Map<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
  private final Object loadLock = new Object();
  private long hostBudget;
  private long deviceBudget;
  private long hits;
  private long misses;
  private long evictions;
  private long storageBytesRead;

  /**
   * @param hostBudget bytes of host memory entries may hold
   * @param deviceBudget bytes of device memory entries may hold
   * @param hostKey the setting of the host budget, named in errors
   * @param deviceKey the setting of the device budget, named in errors
   */
  public ResidentCache(long hostBudget, long deviceBudget, String hostKey, String deviceKey) {
    this.hostKey = hostKey;
    this.deviceKey = deviceKey;
    setBudgets(hostBudget, deviceBudget);
  }

  /** Changes the budgets, evicting idle entries that no longer fit. */
  public synchronized void setBudgets(long hostBudget, long deviceBudget) {
    Preconditions.checkArgument(hostBudget > 0, "Invalid %s: %s bytes", hostKey, hostBudget);
    Preconditions.checkArgument(deviceBudget > 0, "Invalid %s: %s bytes", deviceKey, deviceBudget);
    this.hostBudget = hostBudget;
    this.deviceBudget = deviceBudget;
    evictIdleOverBudget();
  }

  /**
   * The entry for {@code key}, loaded with {@code load} if it is not resident.
   *
   * @param onDevice where the loaded value will live (to make room in the right budget first)
   * @param load its estimate of the bytes it will hold comes first: idle entries are evicted to
   *     make room before loading, so old and new are not resident together when both cannot be
   * @throws IllegalStateException if the loaded value alone is larger than its budget (it is closed
   *     first)
   */
  public Lease acquire(String key, boolean onDevice, Loader<V> load) {
    synchronized (this) {
      Entry e = entries.get(key);
      if (e != null) {
        hits++;
        e.users++;
        return new Lease(e);
      }
    }
    synchronized (loadLock) {
      synchronized (this) {
        Entry e = entries.get(key); // loaded by another task while this one waited
        if (e != null) {
          hits++;
          e.users++;
          return new Lease(e);
        }
        misses++;
      }
      long estimate = load.estimateBytes();
      synchronized (this) {
        makeRoom(onDevice, estimate);
      }
      V value = load.load();
      synchronized (this) {
        storageBytesRead += value.bytesRead();
        Entry e = new Entry(key, value);
        long budget = e.onDevice ? deviceBudget : hostBudget;
        if (e.bytes > budget) {
          value.close();
          throw new IllegalStateException(
              String.format(
                  "Resident sources %s need %d bytes of %s memory, more than %s = %d",
                  key,
                  e.bytes,
                  e.onDevice ? "device" : "host",
                  e.onDevice ? deviceKey : hostKey,
                  budget));
        }
        e.users = 1;
        entries.put(key, e);
        evictIdleOverBudget();
        return new Lease(e);
      }
    }
  }

  /** The counters now. */
  public synchronized Stats stats() {
    long host = 0;
    long device = 0;
    for (Entry e : entries.values()) {
      if (e.onDevice) {
        device += e.bytes;
      } else {
        host += e.bytes;
      }
    }
    return new Stats(hits, misses, evictions, entries.size(), host, device, storageBytesRead);
  }

  /** Closes every idle entry (counted as evictions); entries in use stay. */
  public synchronized void clear() {
    evictWhile(e -> true);
  }

  private void makeRoom(boolean onDevice, long estimate) {
    long budget = onDevice ? deviceBudget : hostBudget;
    long[] used = {resident(onDevice)};
    evictWhile(
        e -> {
          if (e.onDevice != onDevice || used[0] + estimate <= budget) {
            return false;
          }
          used[0] -= e.bytes;
          return true;
        });
  }

  private void evictIdleOverBudget() {
    long[] host = {resident(false)};
    long[] device = {resident(true)};
    evictWhile(
        e -> {
          long[] used = e.onDevice ? device : host;
          if (used[0] <= (e.onDevice ? deviceBudget : hostBudget)) {
            return false;
          }
          used[0] -= e.bytes;
          return true;
        });
  }

  /** Closes idle entries, least recently used first, for which {@code evict} says so. */
  private void evictWhile(Predicate<Entry> evict) {
    List<Entry> closing = new ArrayList<>();
    for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
      Entry e = it.next();
      if (e.users == 0 && evict.test(e)) {
        it.remove();
        closing.add(e);
      }
    }
    for (Entry e : closing) {
      evictions++;
      e.value.close();
    }
  }

  private long resident(boolean onDevice) {
    long sum = 0;
    for (Entry e : entries.values()) {
      if (e.onDevice == onDevice) {
        sum += e.bytes;
      }
    }
    return sum;
  }
}
