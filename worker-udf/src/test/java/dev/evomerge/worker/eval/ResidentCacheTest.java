package dev.evomerge.worker.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ResidentCacheTest {
  private final NDManager manager = NDManager.newBaseManager();
  private final AtomicLong storage = new AtomicLong();
  private final List<String> loads = new ArrayList<>();

  @AfterEach
  void tearDown() {
    manager.close();
  }

  /** A value holding one real float32 array of {@code floats} elements; it reads what it holds. */
  private final class Value implements ResidentCache.Resident {
    final NDArray array;
    final boolean device;
    final long readBefore = storage.get();

    Value(int floats, boolean device) {
      this.array = manager.zeros(new ai.djl.ndarray.types.Shape(floats));
      this.device = device;
    }

    @Override
    public long residentBytes() {
      return 4 * array.size();
    }

    @Override
    public boolean onDevice() {
      return device;
    }

    @Override
    public long bytesRead() {
      return storage.get() - readBefore;
    }

    @Override
    public void close() {
      array.close();
    }
  }

  private ResidentCache<Value> cache(long host, long device) {
    return new ResidentCache<>(host, device, "host-key", "device-key");
  }

  /** A loader reading {@code bytes} from "storage" for a value of {@code floats} elements. */
  private ResidentCache.Loader<Value> loader(String name, int floats, boolean device) {
    return new ResidentCache.Loader<>() {
      @Override
      public long estimateBytes() {
        return 4L * floats;
      }

      @Override
      public Value load() {
        loads.add(name);
        Value v = new Value(floats, device);
        storage.addAndGet(4L * floats);
        return v;
      }
    };
  }

  private Value use(ResidentCache<Value> cache, String key, int floats) {
    try (ResidentCache<Value>.Lease lease = cache.acquire(key, false, loader(key, floats, false))) {
      return lease.value();
    }
  }

  @Test
  void aHitReadsNothingAndReturnsTheResidentValue() {
    ResidentCache<Value> cache = cache(1000, 1000);
    Value first = use(cache, "a", 10);
    long read = cache.stats().storageBytesRead();
    assertEquals(40, read);
    Value second = use(cache, "a", 10);
    assertSame(first, second);
    assertEquals(List.of("a"), loads);
    assertEquals(new ResidentCache.Stats(1, 1, 0, 1, 40, 0, 40), cache.stats());
    assertFalse(first.array.isReleased());
  }

  @Test
  void theLeastRecentlyUsedIdleEntryIsEvictedAndItsArraysClosed() {
    ResidentCache<Value> cache = cache(130, 1000);
    Value a = use(cache, "a", 15); // 60 bytes
    Value b = use(cache, "b", 15);
    use(cache, "a", 15); // a is now the most recently used
    Value c = use(cache, "c", 15); // 180 > 130: b goes, before c is loaded
    assertTrue(b.array.isReleased(), "evicted entry's array is closed");
    assertFalse(a.array.isReleased());
    assertFalse(c.array.isReleased());
    assertEquals(new ResidentCache.Stats(1, 3, 1, 2, 120, 0, 180), cache.stats());
    // b is read again on its next use, and a (now least recent) makes room for it
    use(cache, "b", 15);
    assertEquals(List.of("a", "b", "c", "b"), loads);
    assertTrue(a.array.isReleased());
    assertEquals(2, cache.stats().evictions());
    assertEquals(120, cache.stats().hostBytes());
  }

  @Test
  void anEntryInUseIsNeverClosed() {
    ResidentCache<Value> cache = cache(100, 1000);
    ResidentCache<Value>.Lease heldA = cache.acquire("a", false, loader("a", 15, false));
    ResidentCache<Value>.Lease heldB = cache.acquire("b", false, loader("b", 15, false));
    // 120 bytes > 100 while both are leased: the cache stays over its budget, closing nothing
    Value a = heldA.value();
    Value b = heldB.value();
    assertEquals(120, cache.stats().hostBytes());
    heldB.close(); // b is idle and the cache over budget: b goes, a (in use) stays
    assertTrue(b.array.isReleased());
    assertFalse(a.array.isReleased());
    heldA.close(); // 60 <= 100: a stays resident for the next task
    assertFalse(a.array.isReleased());
    assertEquals(new ResidentCache.Stats(0, 2, 1, 1, 60, 0, 120), cache.stats());
    assertThrows(IllegalStateException.class, heldA::value);
  }

  @Test
  void hostAndDeviceBudgetsAreSeparate() {
    ResidentCache<Value> cache = cache(100, 100);
    Value host = use(cache, "host", 20); // 80 bytes of host memory
    ResidentCache<Value>.Lease lease = cache.acquire("gpu", true, loader("gpu", 20, true));
    Value gpu = lease.value();
    lease.close();
    assertFalse(host.array.isReleased(), "a device entry does not evict host entries");
    assertEquals(new ResidentCache.Stats(0, 2, 0, 2, 80, 80, 160), cache.stats());
    try (ResidentCache<Value>.Lease other = cache.acquire("gpu2", true, loader("gpu2", 20, true))) {
      assertFalse(other.value().array.isReleased());
    }
    assertTrue(gpu.array.isReleased());
    assertFalse(host.array.isReleased());
  }

  @Test
  void aValueLargerThanItsBudgetIsRefusedNamingTheSettingAndClosed() {
    ResidentCache<Value> cache = cache(100, 1000);
    List<Value> made = new ArrayList<>();
    ResidentCache.Loader<Value> big =
        new ResidentCache.Loader<>() {
          @Override
          public long estimateBytes() {
            return 400;
          }

          @Override
          public Value load() {
            Value v = new Value(100, false);
            made.add(v);
            return v;
          }
        };
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> cache.acquire("big", false, big));
    assertTrue(e.getMessage().contains("host-key = 100"), e.getMessage());
    assertTrue(e.getMessage().contains("400 bytes"), e.getMessage());
    assertTrue(made.get(0).array.isReleased());
    assertEquals(0, cache.stats().entries());
  }

  @Test
  void lowerBudgetsEvictIdleEntriesAtOnce() {
    ResidentCache<Value> cache = cache(1000, 1000);
    Value a = use(cache, "a", 15);
    Value b = use(cache, "b", 15);
    cache.setBudgets(60, 1000);
    assertTrue(a.array.isReleased());
    assertFalse(b.array.isReleased());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> cache.setBudgets(0, 10));
    assertTrue(e.getMessage().contains("host-key"), e.getMessage());
  }
}
