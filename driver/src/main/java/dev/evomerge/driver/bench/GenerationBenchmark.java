package dev.evomerge.driver.bench;

import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.run.GenerationLoop;
import dev.evomerge.driver.run.Preflight;
import dev.evomerge.driver.search.Genome;
import dev.evomerge.driver.search.SearchRun;
import dev.evomerge.driver.spark.SparkGenerationEvaluator;
import dev.evomerge.driver.spark.SparkSessions;
import dev.evomerge.driver.toy.ToyZoo;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.ResidentSources;
import java.io.File;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkConf;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.sql.SparkSession;
import scala.reflect.ClassTag$;

/**
 * A search in Spark local mode, the demo's ({@code --demo}) or a toy zoo's, measuring per
 * generation: Spark overhead = (wall time − the longest task's run time) / wall time, bytes shipped
 * to executors per candidate (the Kryo bytes of coefficients in the tasks), bytes read from storage
 * (goal 0 after generation 1 with a warm cache) and materialisations per candidate (1 with at least
 * as many candidates as task slots). Prints a table; asserts nothing.
 */
public final class GenerationBenchmark {
  private GenerationBenchmark() {}

  public static int run(
      String[] args, PrintStream out, PrintStream err, DemoSettings demoSettings) {
    int generations = 5;
    int population = 8;
    int shards = 2;
    String master = "local[2]";
    Path dir = Path.of("work/bench");
    boolean demo = false;
    Path home = Path.of(System.getenv().getOrDefault("EVOMERGE_HOME", "."));
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--generations" -> generations = Integer.parseInt(args[++i]);
        case "--population" -> population = Integer.parseInt(args[++i]);
        case "--shards" -> shards = Integer.parseInt(args[++i]);
        case "--master" -> master = args[++i];
        case "--dir" -> dir = Path.of(args[++i]);
        case "--demo" -> demo = true;
        case "--home" -> home = Path.of(args[++i]);
        case "--help", "-h" -> {
          out.println(
              "usage: evomerge bench [--generations N] [--population N] [--shards N]"
                  + " [--master local[2]] [--dir work/bench]\n"
                  + "       evomerge bench --demo [--generations N] [--master local[2]]"
                  + " [--home DIR]   (the demo's search on the trained zoo)");
          return 0;
        }
        default -> {
          err.println("evomerge bench: unknown option " + args[i]);
          return 2;
        }
      }
    }
    try {
      RunSettings settings =
          demo
              ? demoSettings.load(home.toAbsolutePath().normalize(), generations, master, out)
              : settings(dir, generations, population, shards, master);
      return measure(settings, generations, master, out);
    } catch (Exception e) {
      err.println("evomerge bench: " + e);
      return 1;
    }
  }

  /**
   * The benchmark's run: a toy zoo (3 sources, 64 dev rows) under {@code dir}, CMA-ES with {@code
   * population} candidates, {@code shards} dev shards, the Spark UI off.
   */
  public static RunSettings settings(
      Path dir, int generations, int population, int shards, String master) throws Exception {
    Path zooDir = dir.resolve("zoo");
    ToyZoo.Zoo zoo = ToyZoo.openOrCreate(zooDir, 7, new double[] {0.5, 0.3, 0.2}, 64, 48);
    StringBuilder sources = new StringBuilder();
    for (Path p : zoo.sources()) {
      sources.append(sources.length() == 0 ? "" : ", ").append('"').append(p).append('"');
    }
    List<String> sets =
        List.of(
            "evomerge.models.sources=[" + sources + "]",
            "evomerge.eval.dev-set=\"" + zoo.devSet() + "\"",
            "evomerge.eval.shards=" + shards,
            "evomerge.search.options.populationSize=" + population,
            "evomerge.run.generations=" + generations,
            "spark.master=\"" + master + "\"",
            "spark.ui.enabled=false");
    return ConfigLoader.load((File) null, sets);
  }

  /** The demo's run settings at the demo's size (the CLI supplies them from {@code demo.conf}). */
  @FunctionalInterface
  public interface DemoSettings {
    RunSettings load(Path home, int generations, String master, PrintStream out) throws Exception;
  }

  private static int measure(RunSettings settings, int generations, String master, PrintStream out)
      throws Exception {
    int shards = settings.eval().shards();
    Preflight.CheckedRun checked = Preflight.check(settings);
    SparkSession spark = SparkSessions.getOrCreate(settings.spark());
    AtomicLong longestTaskMs = new AtomicLong();
    spark
        .sparkContext()
        .addSparkListener(
            new SparkListener() {
              @Override
              public void onTaskEnd(SparkListenerTaskEnd end) {
                if (end.taskMetrics() != null) {
                  longestTaskMs.accumulateAndGet(end.taskMetrics().executorRunTime(), Math::max);
                }
              }
            });
    GenerationPhases phases = new GenerationPhases(spark.sparkContext().isLocal());
    spark.sparkContext().addSparkListener(phases);
    KryoSerializer kryo = new KryoSerializer(new SparkConf().setAll(toScala(settings.spark())));
    out.printf(
        Locale.ROOT,
        "evomerge bench: %s, %d generations x %s candidates, %d dev rows in %d shards%n",
        master,
        generations,
        settings.search().options().getOrDefault("populationSize", "?"),
        checked.rows().size(),
        shards);
    out.println(
        "gen  wall ms  longest task ms  Spark overhead  bytes/candidate  storage bytes read"
            + "  materialisations/candidate");
    SearchRun search = GenerationLoop.newSearch(settings);
    List<Double> overheads = new ArrayList<>();
    long laterBytes = 0;
    try (SparkGenerationEvaluator evaluator =
        new SparkGenerationEvaluator(spark, checked.spec(), checked.rows(), shards)) {
      for (int g = 0; g < generations; g++) {
        List<Genome> genomes = search.ask();
        List<CandidateSpec> candidates = new ArrayList<>();
        for (int i = 0; i < genomes.size(); i++) {
          candidates.add(new CandidateSpec((long) g * 1000 + i, genomes.get(i).genes()));
        }
        long bytesPerCandidate =
            kryo.newInstance()
                    .serialize(candidates.toArray(new CandidateSpec[0]), ClassTag$.MODULE$.AnyRef())
                    .remaining()
                / candidates.size();
        long[] readBefore = storageMeters();
        long materialisedBefore = evaluator.materialisations();
        longestTaskMs.set(0);
        phases.reset();
        long startMs = System.currentTimeMillis();
        long start = System.nanoTime();
        Map<Long, CandidateResult> results =
            evaluator.evaluate("bench generation " + g, candidates);
        double wallMs = (System.nanoTime() - start) / 1e6;
        long endMs = System.currentTimeMillis();
        spark.sparkContext().listenerBus().waitUntilEmpty();
        long read = bytesReadSince(readBefore);
        double perCandidate =
            (double) (evaluator.materialisations() - materialisedBefore) / candidates.size();
        double[] fitness = new double[genomes.size()];
        for (int i = 0; i < genomes.size(); i++) {
          CandidateResult r = results.get(candidates.get(i).id());
          fitness[i] =
              r.isFailed() ? Double.NEGATIVE_INFINITY : checked.fitness().fitness(r.tasks());
        }
        search.tell(genomes, fitness);
        double overhead = (wallMs - longestTaskMs.get()) / wallMs;
        if (g > 0) {
          overheads.add(overhead);
          laterBytes += read;
        }
        out.printf(
            Locale.ROOT,
            "%3d  %7.0f  %15d  %13.1f%%  %15d  %18d  %26.2f%n",
            g + 1,
            wallMs,
            longestTaskMs.get(),
            100 * overhead,
            bytesPerCandidate,
            read,
            perCandidate);
        out.println("     phases: " + phases.line(startMs, endMs));
      }
    } finally {
      spark.stop();
    }
    double mean = overheads.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    out.printf(
        Locale.ROOT,
        "after generation 1: mean Spark overhead %.1f%% (goal <= 5%%), storage bytes read %d"
            + " (goal 0)%n",
        100 * mean,
        laterBytes);
    return 0;
  }

  /**
   * Bytes read from storage: the larger of Hadoop's filesystem statistics and the checkpoint bytes
   * the executor's cache loaded (local mode: the cache is in this JVM; local checkpoints are
   * memory-mapped, which the statistics do not see).
   */
  private static long[] storageMeters() {
    return new long[] {
      ResidentSources.storageBytesRead(), ResidentSources.cache().stats().storageBytesRead()
    };
  }

  private static long bytesReadSince(long[] before) {
    long[] now = storageMeters();
    return Math.max(now[0] - before[0], now[1] - before[1]);
  }

  private static scala.collection.Iterable<scala.Tuple2<String, String>> toScala(
      Map<String, String> m) {
    List<scala.Tuple2<String, String>> pairs = new ArrayList<>();
    m.forEach((k, v) -> pairs.add(new scala.Tuple2<>(k, v)));
    return scala.jdk.javaapi.CollectionConverters.asScala(pairs);
  }
}
