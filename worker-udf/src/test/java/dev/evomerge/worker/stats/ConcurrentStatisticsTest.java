package dev.evomerge.worker.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.model.GarbageCollections;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.TinyCheckpoints;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Statistics of several models computed at once, as the tasks of one executor do, equal those
 * computed one model at a time while garbage collections run (concurrent tasks allocate more, so
 * the JVM collects more often during their backward passes).
 */
class ConcurrentStatisticsTest {
  @TempDir Path dir;

  private static final LlamaConfig CONFIG =
      new LlamaConfig("LlamaForCausalLM", 200, 64, 128, 2, 4, 2, 16, 1e-5, 10000.0, false, 1, 2);

  private static List<long[]> sequences(long seed, int n) {
    SplittableRandom r = new SplittableRandom(seed);
    List<long[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long[] s = new long[8 + r.nextInt(40)];
      s[0] = 1;
      for (int t = 1; t < s.length; t++) {
        s[t] = 3 + r.nextInt(197);
      }
      out.add(s);
    }
    return out;
  }

  @Test
  void fourModelsOnTwoThreadsEqualOneAtATime() throws Exception {
    int models = 4;
    List<String> uris = new ArrayList<>();
    List<List<long[]>> seqs = new ArrayList<>();
    for (int i = 0; i < models; i++) {
      Path folder = dir.resolve("m" + i);
      uris.add(
          TinyCheckpoints.write(folder, CONFIG, 100 + i, DType.F32, List.of()).toUri().toString());
      seqs.add(sequences(200 + i, 12));
    }
    StatisticsOptions options = StatisticsOptions.both(64);
    // the reference on a pool thread too, so PyTorch sees the same kind of calling thread
    List<ModelStatistics> expected = new ArrayList<>();
    ExecutorService one = Executors.newSingleThreadExecutor();
    try {
      for (int i = 0; i < models; i++) {
        int m = i;
        expected.add(one.submit(() -> compute(uris.get(m), seqs.get(m), options)).get());
      }
    } finally {
      one.shutdownNow();
    }
    ExecutorService two = Executors.newFixedThreadPool(2);
    try (GarbageCollections gc = GarbageCollections.every(10)) {
      for (int round = 0; round < 3; round++) {
        List<Future<ModelStatistics>> got = new ArrayList<>();
        for (int i = 0; i < models; i++) {
          int m = i;
          got.add(two.submit(() -> compute(uris.get(m), seqs.get(m), options)));
        }
        for (int i = 0; i < models; i++) {
          String what = "round " + round + ", model " + i;
          ModelStatistics e = expected.get(i);
          ModelStatistics g = got.get(i).get();
          assertEquals(e.tokens(), g.tokens(), what);
          assertSame(what + ", Fisher of ", e.fisherSum(), g.fisherSum());
          assertSame(what + ", Gram of ", e.gramSum(), g.gramSum());
        }
      }
    } finally {
      two.shutdownNow();
    }
  }

  private static ModelStatistics compute(String uri, List<long[]> seqs, StatisticsOptions o) {
    return StatisticsComputer.compute(
        HfModelFolder.open(uri, new Configuration()), seqs, o, Device.cpu());
  }

  /**
   * Equal to 1e-5 of each entry (of a thousandth of the tensor's largest entry, for entries near
   * zero). Here they are bit identical; a BLAS called from several threads at once need not be, and
   * the bug this guards against gave entries off by 5 % to 1e36, or NaN.
   */
  private static void assertSame(
      String what, Map<String, FloatTensor> expected, Map<String, FloatTensor> actual) {
    assertEquals(expected.keySet(), actual.keySet(), what);
    expected.forEach(
        (name, t) -> {
          float[] a = t.data();
          float[] b = actual.get(name).data();
          assertEquals(a.length, b.length, what + name);
          double largest = 0;
          for (float x : a) {
            largest = Math.max(largest, Math.abs(x));
          }
          for (int i = 0; i < a.length; i++) {
            double tolerance = 1e-5 * Math.max(Math.abs(a[i]), 1e-3 * largest);
            assertEquals(a[i], b[i], tolerance, what + name + "[" + i + "]");
          }
        });
  }
}
