package dev.evomerge.worker.merge.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.evomerge.worker.merge.MergeEngine;
import dev.evomerge.worker.merge.MergeMethod;
import dev.evomerge.worker.merge.MergeMethods;
import dev.evomerge.worker.merge.Params;
import dev.evomerge.worker.merge.PreparedTensor;
import dev.evomerge.worker.merge.ResolvedParams;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Combine-step throughput on resident inputs (the search's inner loop) against a plain device copy
 * of the same input bytes.
 *
 * <p>Run (from the repository root, after {@code mvn -q -pl worker-udf -DskipTests package} and
 * {@code mvn -q -pl worker-udf dependency:build-classpath -Dmdep.outputFile=target/cp.txt}):
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -Dai.djl.offline=true \
 *   -cp worker-udf/target/classes:$(cat worker-udf/target/cp.txt) \
 *   dev.evomerge.worker.merge.bench.MergeBenchmark [--models 4] [--rows 4096] [--cols 4096]
 *   [--tensors 2] [--reps 5] [--device cpu|gpu] [--density 0.5]
 * </pre>
 *
 * Without {@code --add-modules jdk.incubator.vector} (or with {@code -Devomerge.merge.fused=false})
 * the sparsified methods take the DJL path instead of the fused CPU kernel.
 *
 * <p>GB/s counts the input bytes ({@code models x tensors x rows x cols x 4}) per second of wall
 * time; the copies read and write those same bytes once: {@code duplicate()} allocates its result
 * like every combine does, the second copies into an array allocated beforehand. Each round runs
 * every measurement once in turn (median over rounds), so a load that drifts affects them alike;
 * the last column is the time relative to {@code linear}'s. Each combine is {@link
 * MergeEngine#combine} on resident {@link PreparedTensor}s with a fresh output manager, as the
 * search calls it. On a shared CPU set {@code OMP_NUM_THREADS} to the cores you own: spinning
 * OpenMP barriers of an oversubscribed pool make chunked methods 10x slower and erratic. Figures:
 * README, "Merge combine step".
 */
public final class MergeBenchmark {
  private MergeBenchmark() {}

  public static void main(String[] args) {
    int models = 4;
    long rows = 4096;
    long cols = 4096;
    int tensors = 2;
    int reps = 5;
    double density = 0.5;
    String device = "cpu";
    for (int i = 0; i < args.length; i += 2) {
      String v = args[i + 1];
      switch (args[i]) {
        case "--models" -> models = Integer.parseInt(v);
        case "--rows" -> rows = Long.parseLong(v);
        case "--cols" -> cols = Long.parseLong(v);
        case "--tensors" -> tensors = Integer.parseInt(v);
        case "--reps" -> reps = Integer.parseInt(v);
        case "--density" -> density = Double.parseDouble(v);
        case "--device" -> device = v;
        default -> throw new IllegalArgumentException("Unknown option " + args[i]);
      }
    }
    Device dev = Device.fromName(device);
    try (NDManager resident = NDManager.newBaseManager(dev)) {
      Shape shape = new Shape(rows, cols);
      List<String> names = new ArrayList<>();
      for (int m = 0; m < models; m++) {
        names.add("model" + m);
      }
      List<PreparedTensor> prepared = new ArrayList<>();
      for (int t = 0; t < tensors; t++) {
        NDArray base = resident.randomNormal(shape);
        List<NDArray> inputs = new ArrayList<>();
        for (int m = 0; m < models; m++) {
          inputs.add(base.add(resident.randomNormal(0, 0.01f, shape, base.getDataType())));
        }
        prepared.add(MergeEngine.prepare("t" + t, names, inputs, base, true));
        inputs.forEach(NDArray::close);
      }
      double gb = models * tensors * rows * cols * 4 / 1e9;
      System.out.printf(
          Locale.ROOT,
          "%d models x %d tensors of %dx%d F32 on %s: %.2f GB of inputs, %d reps, %d threads%n",
          models,
          tensors,
          rows,
          cols,
          dev,
          gb,
          reps,
          Runtime.getRuntime().availableProcessors());
      List<NDArray> targets = new ArrayList<>();
      for (PreparedTensor t : prepared) {
        targets.add(t.stacked().zerosLike());
      }
      Map<String, Runnable> runs = new LinkedHashMap<>();
      runs.put("copy (duplicate)", () -> copyAll(prepared));
      runs.put(
          "copy (into allocated)",
          () -> {
            for (int i = 0; i < prepared.size(); i++) {
              targets.get(i).set(new NDIndex(":"), prepared.get(i).stacked());
            }
          });
      for (String method : List.of("linear", "task_arithmetic", "ties", "dare_ties")) {
        MergeMethod mm = MergeMethods.get(method);
        Map<String, Object> pm =
            method.equals("linear") || method.equals("task_arithmetic")
                ? Map.of("weight", 0.25)
                : Map.of("weight", 0.25, "density", density);
        List<Map<String, Object>> per = new ArrayList<>();
        for (int m = 0; m < models; m++) {
          per.add(pm);
        }
        ResolvedParams p = Params.resolve(mm, Map.of(), per, 1, "bench", names);
        runs.put(
            method + (pm.containsKey("density") ? " (density " + density + ")" : ""),
            () -> {
              for (PreparedTensor t : prepared) {
                try (NDManager out = resident.newSubManager()) {
                  MergeEngine.combine(mm, t, p, out);
                }
              }
            });
      }
      Map<String, Double> median = time(reps, runs);
      double copy = median.get("copy (duplicate)");
      double linear = median.get("linear");
      for (Map.Entry<String, Double> e : median.entrySet()) {
        report(e.getKey(), gb, e.getValue(), copy, linear);
      }
      targets.forEach(NDArray::close);
    }
  }

  private static void copyAll(List<PreparedTensor> prepared) {
    for (PreparedTensor t : prepared) {
      try (NDArray c = t.stacked().duplicate()) {
        c.getShape();
      }
    }
  }

  /**
   * Median seconds of each run over {@code reps} rounds after one warm-up each; every round runs
   * all of them in turn, so a load that drifts during the benchmark affects them alike.
   */
  private static Map<String, Double> time(int reps, Map<String, Runnable> runs) {
    runs.values().forEach(Runnable::run);
    Map<String, double[]> seconds = new LinkedHashMap<>();
    runs.keySet().forEach(k -> seconds.put(k, new double[reps]));
    for (int i = 0; i < reps; i++) {
      for (Map.Entry<String, Runnable> e : runs.entrySet()) {
        long t0 = System.nanoTime();
        e.getValue().run();
        seconds.get(e.getKey())[i] = (System.nanoTime() - t0) / 1e9;
      }
    }
    Map<String, Double> median = new LinkedHashMap<>();
    seconds.forEach(
        (k, s) -> {
          java.util.Arrays.sort(s);
          median.put(k, s[reps / 2]);
        });
    return median;
  }

  private static void report(
      String name, double gb, double seconds, double copySeconds, double linearSeconds) {
    System.out.printf(
        Locale.ROOT,
        "%-28s %8.1f ms  %6.2f GB/s  %5.2fx copy bandwidth  %5.2fx linear's time%n",
        name,
        seconds * 1e3,
        gb / seconds,
        copySeconds / seconds,
        seconds / linearSeconds);
  }
}
