package dev.evomerge.driver.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.driver.config.ConfigError;
import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.run.EvolverRun;
import dev.evomerge.driver.run.HeldOutEvaluation;
import dev.evomerge.driver.run.Preflight;
import dev.evomerge.driver.run.RunError;
import dev.evomerge.driver.spark.SparkGenerationEvaluator;
import dev.evomerge.driver.spark.SparkSessions;
import dev.evomerge.driver.zoo.TrainedZoo;
import dev.evomerge.driver.zoo.ZooSettings;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.PopulationSpec;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.spark.sql.SparkSession;

/**
 * {@code evomerge demo}: the main job. Trains the zoo once ({@link TrainedZoo}), then runs the
 * search of {@code conf/demo.conf} once per strategy (CMA-ES, DE, GA: same genes, population and
 * generations) through {@link RunCommand}, scores the untuned merges, and prints the table of every
 * model on the test splits.
 */
final class DemoCommand {
  static final String USAGE =
      """
      usage: evomerge demo [--home DIR] [--strategies cmaes,de,ga,evolver] [--set key=value ...]

      Trains the zoo into DIR/work/zoo (once, with a progress bar): a small Llama base
      pretrained on a mixed corpus and four experts fine-tuned from it (math word problems,
      a synthetic second language, recipes, match reports). Then, in Spark local mode, runs
      the search of DIR/conf/demo.conf (DARE-TIES over a weight and a density per expert, selected
      on the dev splits: weighted mean accuracy over the target task, math posed in the second
      language, which no model was trained on (weight 2), the math task and the matches task) once per strategy,
      scores the untuned task arithmetic, TIES and
      DARE-TIES merges, and prints every model on the test splits (never used for selection).
      Writes DIR/runs/demo-<time>/ (one run folder per strategy, results.md, results.json).
      --set overrides keys of every run. DIR defaults to $EVOMERGE_HOME or the current
      directory.""";

  static final List<String> STRATEGIES = List.of("cmaes", "de", "ga", EvolverRun.STRATEGY);

  /**
   * The demo's tasks with their weight in the fitness (dev and test alike): the weighted mean
   * accuracy over the target (weight 2: the cross-skill task the search is for), math and matches;
   * the log-likelihood tasks are reported, not selected on.
   */
  static final Map<String, Double> TASK_WEIGHTS =
      Map.of("target", 2.0, "math", 1.0, "language", 0.0, "recipes", 0.0, "matches", 1.0);

  private static final ObjectMapper JSON = new ObjectMapper();

  private DemoCommand() {}

  static int run(String[] args, PrintStream out, PrintStream err) {
    Options options;
    try {
      options = Options.parse(args, Set.of("--home", "--strategies"));
    } catch (Options.UsageError e) {
      err.println("evomerge demo: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    if (options.help) {
      out.println(USAGE);
      return 0;
    }
    String homeValue = options.values.get("--home");
    if (homeValue == null) {
      homeValue = System.getenv().getOrDefault("EVOMERGE_HOME", ".");
    }
    List<String> strategies =
        options.values.containsKey("--strategies")
            ? Arrays.asList(options.values.get("--strategies").split(","))
            : STRATEGIES;
    // one PyTorch thread per Spark task: on a busy CPU OpenMP's spinning threads cost 10x
    System.setProperty(
        "ai.djl.pytorch.num_threads", System.getProperty("ai.djl.pytorch.num_threads", "1"));
    return demo(
        Path.of(homeValue).toAbsolutePath().normalize(),
        ZooSettings.full(),
        strategies,
        options.sets,
        out,
        err);
  }

  static int demo(
      Path home,
      ZooSettings zooSettings,
      List<String> strategies,
      List<String> userSets,
      PrintStream out,
      PrintStream err) {
    File config = home.resolve("conf/demo.conf").toFile();
    if (!config.isFile()) {
      err.println("evomerge demo: " + config + " does not exist (use --home DIR)");
      return 2;
    }
    for (String s : strategies) {
      if (!STRATEGIES.contains(s) && !List.of("random", "nsga2", "elitist-gaussian").contains(s)) {
        err.println("evomerge demo: unknown strategy " + s + " in --strategies");
        return 2;
      }
    }
    Path zooDir = home.resolve("work/zoo");
    if (!TrainedZoo.isBuilt(zooDir)) {
      out.println("training the zoo into " + zooDir + " (once)");
    }
    TrainedZoo.Zoo zoo = TrainedZoo.openOrCreate(zooDir, zooSettings, out);
    String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    Path demoDir = home.resolve("runs").resolve("demo-" + stamp);
    List<String> sets = new ArrayList<>(zooSets(zoo));
    sets.add("evomerge.run.output-root=" + quote(demoDir.toString()));
    sets.addAll(userSets);

    RunSettings settings;
    Preflight.CheckedRun checked;
    try {
      settings = ConfigLoader.load(config, sets);
      checked = Preflight.check(settings);
    } catch (ConfigError | RunError e) {
      err.println("evomerge: " + e.getMessage());
      return 2;
    }
    // one session for every run of the demo (each run sees it and leaves it running)
    boolean ownSession = SparkSession.getDefaultSession().isEmpty();
    SparkSession spark =
        SparkSessions.getOrCreate(
            SparkSessions.withEventLog(
                settings.spark(),
                () -> {
                  Path log = demoDir.resolve("eventlog");
                  try {
                    Files.createDirectories(log);
                  } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(
                        "Cannot create event log folder " + log, e);
                  }
                  return log.toUri().toString();
                }));
    try {
      Map<String, Path> runs = new LinkedHashMap<>();
      Map<String, Path> evolverRuns = new LinkedHashMap<>();
      for (String strategy : strategies) {
        out.println();
        out.println("== evolutionary search: " + strategy + " ==");
        if (strategy.equals(EvolverRun.STRATEGY)) {
          // Evolver: the population evolved, merged by averaging, then by RegMean
          for (String merge : List.of("average", "regmean")) {
            String name = merge.equals("average") ? "evolver" : "evolver-regmean";
            int rc = RunCommand.execute(config, evolverSets(sets, zoo, merge, name), out, err);
            if (rc != 0) {
              return rc;
            }
            evolverRuns.put(name, latestRun(demoDir, name));
          }
          continue;
        }
        List<String> withStrategy = new ArrayList<>(sets);
        withStrategy.add("evomerge.search.strategy=" + strategy);
        withStrategy.add("evomerge.run.name=" + strategy);
        int rc = RunCommand.execute(config, withStrategy, out, err);
        if (rc != 0) {
          return rc;
        }
        runs.put(strategy, latestRun(demoDir, strategy));
      }
      out.println();
      out.println("== untuned merges ==");
      List<HeldOutEvaluation.Entry> untuned =
          HeldOutEvaluation.evaluateFixed(
              checked,
              untunedMerges(checked.spec().sourceUris().size()),
              (spec, rows) ->
                  new SparkGenerationEvaluator(
                      spark, spec, rows, settings.eval().shards(), settings.eval().gpusPerTask()));
      if (!evolverRuns.isEmpty()) {
        untuned = new ArrayList<>(untuned);
        untuned.addAll(dataDrivenMerges(config, sets, zoo, spark, out));
      }
      Map<String, Path> all = new LinkedHashMap<>(runs);
      all.putAll(evolverRuns);
      List<Row> table = table(all, untuned, settings.mergeMethod());
      for (Map.Entry<String, Path> run : evolverRuns.entrySet()) {
        for (JsonNode m : readJson(run.getValue().resolve("test-evaluation.json")).get("models")) {
          if (m.get("model").asText().startsWith("evolved")) {
            Row r = row(m.get("model").asText(), m);
            String label = run.getKey().equals("evolver") ? "Evolver" : "Evolver+RegMean";
            table.add(new Row(label, r.fitness(), r.metrics(), r.error()));
          }
        }
      }
      String md = markdown(table, checked);
      out.println();
      out.println(
          "test splits (never used for selection); fitness = weighted mean accuracy over target"
              + " (weight 2), math and matches:");
      out.print(md);
      writeResults(demoDir, table, md);
      out.println("results: " + demoDir.resolve("results.md"));
      return 0;
    } catch (RunError e) {
      err.println("evomerge: " + e.getMessage());
      return 2;
    } finally {
      if (ownSession) {
        spark.stop();
      }
    }
  }

  /**
   * An Evolver run over the experts (no base): the population merged with {@code merge}, each
   * expert's statistics on its own training data, crossover by cell (attention, MLP, the rest).
   */
  static List<String> evolverSets(
      List<String> sets, TrainedZoo.Zoo zoo, String merge, String name) {
    List<String> out = new ArrayList<>(sets);
    out.add("evomerge.search.strategy=" + EvolverRun.STRATEGY);
    out.add("evomerge.run.name=" + name);
    out.add("evomerge.search.final-merge=" + merge);
    out.add("evomerge.merge.method=linear");
    out.add("evomerge.merge.genes=[weight]");
    out.add("evomerge.merge.filters=[self_attn, mlp]");
    out.add("evomerge.models.base=null");
    StringBuilder data = new StringBuilder("[");
    for (Path expert : zoo.experts()) {
      Path train = zoo.dir().resolve("data").resolve(expert.getFileName() + "-train.jsonl");
      data.append(data.length() == 1 ? "" : ", ").append(quote(train.toString()));
    }
    out.add("evomerge.statistics.data=" + data + "]");
    return out;
  }

  /**
   * Fisher and RegMean merges of the experts themselves (each at weight 1, its statistics on its
   * training data: those the Evolver+RegMean run computed, reused), on the test splits.
   */
  private static List<HeldOutEvaluation.Entry> dataDrivenMerges(
      File config, List<String> sets, TrainedZoo.Zoo zoo, SparkSession spark, PrintStream out) {
    RunSettings s = ConfigLoader.load(config, evolverSets(sets, zoo, "regmean", "statistics"));
    Preflight.CheckedRun checked = EvolverRun.prepareStatistics(spark, s, Preflight.check(s), out);
    EvalSpec base = checked.spec().withTasks(checked.testFitness().tasks());
    double[] alone = EvolverRun.sourcesAlone(base.sourceUris().size(), base.layout().cells());
    List<HeldOutEvaluation.Entry> entries = new ArrayList<>();
    for (String method : List.of("fisher", "regmean")) {
      PopulationSpec p = base.population();
      EvalSpec spec =
          base.withPopulation(
              new PopulationSpec(
                  method,
                  method.equals("regmean") ? p.parameters() : Map.of(),
                  p.statistics(),
                  p.statisticsKeys()));
      try (SparkGenerationEvaluator e =
          new SparkGenerationEvaluator(spark, spec, checked.testRows(), s.eval().shards())) {
        var r =
            e.evaluate("evomerge held-out: " + method, List.of(new CandidateSpec(0, alone)))
                .get(0L);
        String label = method.equals("fisher") ? "Fisher (untuned)" : "RegMean (untuned)";
        entries.add(
            r.isFailed()
                ? new HeldOutEvaluation.Entry(label, Double.NaN, Map.of(), r.error())
                : new HeldOutEvaluation.Entry(
                    label,
                    checked.testFitness().fitness(r.tasks()),
                    checked.testFitness().metrics(r.tasks()),
                    null));
      }
    }
    return entries;
  }

  /**
   * The demo's search at the demo's size, for {@code evomerge bench --demo}: {@code conf/demo.conf}
   * of {@code home} (8 candidates of DARE-TIES weights and densities, 2 dev shards, CMA-ES) over
   * the trained zoo in {@code home/work/zoo}, trained first if it is missing.
   */
  static RunSettings benchSettings(Path home, int generations, String master, PrintStream out) {
    File config = home.resolve("conf/demo.conf").toFile();
    if (!config.isFile()) {
      throw new IllegalArgumentException(config + " does not exist (use --home DIR)");
    }
    TrainedZoo.Zoo zoo = TrainedZoo.openOrCreate(home.resolve("work/zoo"), ZooSettings.full(), out);
    List<String> sets = new ArrayList<>(zooSets(zoo));
    sets.add("evomerge.run.generations=" + generations);
    sets.add("spark.master=" + quote(master));
    sets.add("spark.ui.enabled=false");
    return ConfigLoader.load(config, sets);
  }

  /** Sources, base, tokenizer, dev and test tasks of the zoo, as --set overrides. */
  static List<String> zooSets(TrainedZoo.Zoo zoo) {
    List<String> sets = new ArrayList<>();
    StringBuilder sources = new StringBuilder("[");
    for (Path p : zoo.experts()) {
      sources.append(sources.length() == 1 ? "" : ", ").append(quote(p.toString()));
    }
    sets.add("evomerge.models.sources=" + sources + "]");
    sets.add("evomerge.models.base=" + quote(zoo.base().toString()));
    sets.add("evomerge.eval.tasks=" + tasks(zoo, "dev", true));
    sets.add("evomerge.eval.test-tasks=" + tasks(zoo, "test", false));
    return sets;
  }

  private static String tasks(TrainedZoo.Zoo zoo, String split, boolean weightedOnly) {
    StringBuilder sb = new StringBuilder("[");
    for (String task : TrainedZoo.TASKS) {
      double weight = TASK_WEIGHTS.get(task);
      if (weightedOnly && weight == 0) {
        continue;
      }
      if (sb.length() > 1) {
        sb.append(", ");
      }
      String kind =
          switch (task) {
            case "target", "math" -> "generate, max_new_tokens = 3, match = numeric";
            case "matches" -> "multiple_choice";
            default -> "loglik";
          };
      sb.append(
          String.format(
              Locale.ROOT,
              "{name = %s, data = %s, kind = %s, weight = %s}",
              task,
              quote(zoo.task(task, split).toString()),
              kind,
              weight));
    }
    return sb.append(']').toString();
  }

  /**
   * Untuned merges as papers report them: every expert at weight 1 (normalised), TIES and DARE-TIES
   * keeping half of each task vector (mergekit's usual example settings).
   */
  static List<HeldOutEvaluation.FixedMerge> untunedMerges(int sources) {
    double[] weights = new double[sources];
    Arrays.fill(weights, 1.0);
    double[] weightDensity = new double[2 * sources];
    for (int i = 0; i < sources; i++) {
      weightDensity[2 * i] = 1.0;
      weightDensity[2 * i + 1] = 0.5;
    }
    return List.of(
        new HeldOutEvaluation.FixedMerge(
            "task arithmetic (untuned)",
            "task_arithmetic",
            List.of("weight"),
            Map.of("normalize", true),
            weights),
        new HeldOutEvaluation.FixedMerge(
            "TIES (untuned)", "ties", List.of("weight", "density"), Map.of(), weightDensity),
        new HeldOutEvaluation.FixedMerge(
            "DARE-TIES (untuned)",
            "dare_ties",
            List.of("weight", "density"),
            Map.of(),
            weightDensity));
  }

  /** One line of the demo's table. */
  record Row(String model, double fitness, Map<String, Double> metrics, String error) {}

  private static List<Row> table(
      Map<String, Path> runs, List<HeldOutEvaluation.Entry> untuned, String method) {
    List<Row> sources = new ArrayList<>();
    List<Row> evolved = new ArrayList<>();
    Row uniform = null;
    boolean first = true;
    for (Map.Entry<String, Path> run : runs.entrySet()) {
      JsonNode doc = readJson(run.getValue().resolve("test-evaluation.json"));
      for (JsonNode m : doc.get("models")) {
        String name = m.get("model").asText();
        Row row = row(name, m);
        if (name.startsWith("evolved")) {
          if (run.getKey().startsWith(EvolverRun.STRATEGY)) {
            continue; // Evolver's rows are labelled by their merge, after the others
          }
          evolved.add(
              new Row(
                  (name.startsWith("evolved path") ? "evolved path" : "evolved " + method)
                      + ", "
                      + run.getKey(),
                  row.fitness(),
                  row.metrics(),
                  row.error()));
        } else if (first && name.startsWith("uniform")) {
          uniform = row;
        } else if (first && name.startsWith("source ")) {
          // every run scores the same sources: the first run's rows stand for all
          String path = name.substring("source ".length()).replaceAll("/+$", "");
          sources.add(
              new Row(
                  "source: " + path.substring(path.lastIndexOf('/') + 1),
                  row.fitness(),
                  row.metrics(),
                  row.error()));
        }
      }
      first = false;
    }
    List<Row> out = new ArrayList<>(sources);
    if (uniform != null) {
      out.add(
          new Row(
              "uniform average (linear)", uniform.fitness(), uniform.metrics(), uniform.error()));
    }
    for (HeldOutEvaluation.Entry e : untuned) {
      out.add(new Row(e.model(), e.fitness(), e.metrics(), e.error()));
    }
    out.addAll(evolved);
    return out;
  }

  private static Row row(String name, JsonNode m) {
    Map<String, Double> metrics = new LinkedHashMap<>();
    m.path("tasks")
        .fields()
        .forEachRemaining(f -> metrics.put(f.getKey(), f.getValue().asDouble()));
    return new Row(
        name,
        m.path("fitness").asDouble(Double.NaN),
        metrics,
        m.has("error") ? m.get("error").asText() : null);
  }

  private static String markdown(List<Row> table, Preflight.CheckedRun checked) {
    List<String> tasks = checked.testFitness().tasks().stream().map(t -> t.name()).toList();
    StringBuilder md = new StringBuilder("| model | fitness |");
    for (var t : checked.testFitness().tasks()) {
      md.append(' ').append(t.name()).append(" (").append(t.metric()).append(") |");
    }
    md.append("\n|---|---|").append("---|".repeat(tasks.size())).append('\n');
    for (Row r : table) {
      md.append("| ").append(r.model()).append(" | ").append(format(r.fitness())).append(" |");
      for (String t : tasks) {
        md.append(' ').append(format(r.metrics().getOrDefault(t, Double.NaN))).append(" |");
      }
      md.append('\n');
    }
    return md.toString();
  }

  private static void writeResults(Path demoDir, List<Row> table, String md) {
    ArrayNode rows = JSON.createArrayNode();
    for (Row r : table) {
      ObjectNode n = rows.addObject().put("model", r.model()).put("fitness", r.fitness());
      ObjectNode m = n.putObject("tasks");
      r.metrics().forEach(m::put);
      if (r.error() != null) {
        n.put("error", r.error());
      }
    }
    try {
      Files.writeString(demoDir.resolve("results.md"), md);
      Files.writeString(
          demoDir.resolve("results.json"),
          JSON.writerWithDefaultPrettyPrinter().writeValueAsString(rows));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write results in " + demoDir, e);
    }
  }

  private static Path latestRun(Path demoDir, String strategy) {
    try (Stream<Path> list = Files.list(demoDir)) {
      return list.filter(p -> p.getFileName().toString().startsWith(strategy + "-"))
          .filter(p -> Files.exists(p.resolve("test-evaluation.json")))
          .max(Path::compareTo)
          .orElseThrow(() -> new RunError("No completed " + strategy + " run in " + demoDir));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot list " + demoDir, e);
    }
  }

  private static JsonNode readJson(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file, e);
    }
  }

  private static String format(double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "failed";
  }

  private static String quote(String s) {
    return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }
}
