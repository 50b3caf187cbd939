package dev.evomerge.driver.spark;

import dev.evomerge.driver.bench.GenerationBenchmark;
import dev.evomerge.driver.bench.GenerationPhases;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.run.GenerationLoop;
import dev.evomerge.driver.run.Preflight;
import dev.evomerge.driver.search.Genome;
import dev.evomerge.driver.search.SearchRun;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * Speed-up of more workers on the loopback standalone cluster: the bench search ({@link
 * GenerationBenchmark#settings}) on a cluster of 1, then of 2 workers (1 core each, one PyTorch
 * thread per executor), in one run. Per worker count: the median generation wall time after
 * generation 1 (which loads the sources), the median over the second half of the generations (once
 * the JIT compilers have settled) and the materialisations per candidate; then the ratio of each
 * median to the first count's. Prints a table; asserts nothing.
 */
final class WorkerScalingBenchmark {
  private WorkerScalingBenchmark() {}

  /**
   * @param medianMs median generation wall time after generation 1
   * @param steadyMedianMs median over the second half of the generations, once the JIT compilers of
   *     the driver and executors have settled (they compete with the tasks for the cores first)
   */
  record Measurement(
      int workers, double medianMs, double steadyMedianMs, double materialisationsPerCandidate) {}

  static List<Measurement> run(
      Path dir,
      List<Integer> workerCounts,
      int generations,
      int population,
      int shards,
      String sparkJar,
      PrintStream out)
      throws Exception {
    out.printf(
        Locale.ROOT,
        "evomerge cluster bench: workers %s (1 core each), %d generations x %d candidates,"
            + " %d dev shards%n",
        workerCounts,
        generations,
        population,
        shards);
    List<Measurement> results = new ArrayList<>();
    for (int workers : workerCounts) {
      results.add(measure(dir, workers, generations, population, shards, sparkJar, out));
    }
    out.println(
        "workers  median generation ms  speed-up  second-half median ms  speed-up"
            + "  materialisations/candidate");
    // against the latest measurement of the first worker count (1,2,1,2: each pair in turn, so a
    // change of the machine's load between passes shows)
    Measurement reference = results.get(0);
    for (Measurement m : results) {
      if (m.workers() == results.get(0).workers()) {
        reference = m;
      }
      out.printf(
          Locale.ROOT,
          "%7d  %20.0f  %7.2fx  %21.0f  %7.2fx  %26.2f%n",
          m.workers(),
          m.medianMs(),
          reference.medianMs() / m.medianMs(),
          m.steadyMedianMs(),
          reference.steadyMedianMs() / m.steadyMedianMs(),
          m.materialisationsPerCandidate());
    }
    return results;
  }

  private static Measurement measure(
      Path dir,
      int workers,
      int generations,
      int population,
      int shards,
      String sparkJar,
      PrintStream out)
      throws Exception {
    try (StandaloneCluster cluster =
        StandaloneCluster.start(dir.resolve("cluster-" + workers), workers)) {
      RunSettings settings =
          GenerationBenchmark.settings(dir, generations, population, shards, cluster.masterUrl());
      Preflight.CheckedRun checked = Preflight.check(settings);
      Map<String, String> conf = new HashMap<>(settings.spark());
      conf.putAll(cluster.driverSettings(sparkJar));
      // one core per worker: each task's PyTorch threads follow its spark.task.cpus (1; the
      // product's rule, TorchThreads), and no inter-op pool beside them
      conf.put(
          "spark.executor.extraJavaOptions",
          conf.get("spark.executor.extraJavaOptions") + " -Dai.djl.pytorch.num_interop_threads=1");
      SparkSession spark = SparkSessions.getOrCreate(conf);
      try {
        awaitExecutors(spark, workers, Duration.ofSeconds(90));
        List<String> taskNotes = java.util.Collections.synchronizedList(new ArrayList<>());
        spark
            .sparkContext()
            .addSparkListener(
                new org.apache.spark.scheduler.SparkListener() {
                  @Override
                  public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd end) {
                    long run = end.taskMetrics() == null ? -1 : end.taskMetrics().executorRunTime();
                    long cpu =
                        end.taskMetrics() == null
                            ? -1
                            : end.taskMetrics().executorCpuTime() / 1_000_000;
                    taskNotes.add(
                        "executor "
                            + end.taskInfo().executorId()
                            + " "
                            + end.taskInfo().taskLocality()
                            + " "
                            + run
                            + " ms (cpu "
                            + cpu
                            + ")");
                  }
                });
        GenerationPhases phases = new GenerationPhases(false);
        spark.sparkContext().addSparkListener(phases);
        SearchRun search = GenerationLoop.newSearch(settings);
        List<Double> wall = new ArrayList<>();
        long materialised = 0;
        long candidatesAfterFirst = 0;
        try (SparkGenerationEvaluator evaluator =
            new SparkGenerationEvaluator(spark, checked.spec(), checked.rows(), shards)) {
          for (int g = 0; g < generations; g++) {
            List<Genome> genomes = search.ask();
            List<CandidateSpec> candidates = new ArrayList<>();
            for (int i = 0; i < genomes.size(); i++) {
              candidates.add(new CandidateSpec((long) g * 1000 + i, genomes.get(i).genes()));
            }
            long before = evaluator.materialisations();
            phases.reset();
            long startMs = System.currentTimeMillis();
            long start = System.nanoTime();
            Map<Long, CandidateResult> results =
                evaluator.evaluate("cluster bench generation " + (g + 1), candidates);
            double ms = (System.nanoTime() - start) / 1e6;
            long endMs = System.currentTimeMillis();
            spark.sparkContext().listenerBus().waitUntilEmpty();
            double[] fitness = new double[genomes.size()];
            for (int i = 0; i < genomes.size(); i++) {
              CandidateResult r = results.get(candidates.get(i).id());
              fitness[i] =
                  r.isFailed() ? Double.NEGATIVE_INFINITY : checked.fitness().fitness(r.tasks());
            }
            search.tell(genomes, fitness);
            out.printf(
                Locale.ROOT,
                "  %d worker(s), generation %d: %.0f ms; tasks %s%n    phases: %s%n",
                workers,
                g + 1,
                ms,
                taskNotes,
                phases.line(startMs, endMs));
            taskNotes.clear();
            if (g > 0) {
              wall.add(ms);
              materialised += evaluator.materialisations() - before;
              candidatesAfterFirst += candidates.size();
            }
          }
        }
        return new Measurement(
            workers,
            median(wall),
            median(wall.subList(wall.size() / 2, wall.size())),
            (double) materialised / candidatesAfterFirst);
      } finally {
        spark.stop();
      }
    }
  }

  private static void awaitExecutors(SparkSession spark, int count, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      // the driver is listed too
      if (spark.sparkContext().statusTracker().getExecutorInfos().length >= count + 1) {
        return;
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException(count + " executors did not register in " + timeout);
  }

  private static double median(List<Double> values) {
    double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    return sorted.length % 2 == 1
        ? sorted[sorted.length / 2]
        : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  }

  /** {@code 1,2} to a list. */
  static List<Integer> parseCounts(String spec) {
    return Arrays.stream(spec.split(",")).map(String::trim).map(Integer::parseInt).toList();
  }
}
