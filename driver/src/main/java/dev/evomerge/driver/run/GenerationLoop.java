package dev.evomerge.driver.run;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.search.Bounds;
import dev.evomerge.driver.search.Evaluated;
import dev.evomerge.driver.search.Genome;
import dev.evomerge.driver.search.SearchRun;
import dev.evomerge.driver.search.StoppingRules;
import dev.evomerge.worker.eval.CandidateParams;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.MergedModelWriter;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.WriteOptions;
import dev.evomerge.worker.merge.RecipeYaml;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The generation loop: ask the strategy for genomes, score them through the evaluator, tell the
 * strategy their fitness (mean token log-likelihood on the dev set), record everything in the run
 * folder, and write the best merge.
 */
public final class GenerationLoop {
  private final RunSettings settings;
  private final Preflight.CheckedRun checked;
  private final GenerationEvaluator evaluator;
  private final RunFolder folder;
  private final PrintStream console;
  private final SearchRun search;
  private HeldOutEvaluation.EvaluatorFactory heldOut;
  private final List<Evaluated> snapshots = new ArrayList<>();

  /** A new run: the search starts from the settings. */
  public GenerationLoop(
      RunSettings settings,
      Preflight.CheckedRun checked,
      GenerationEvaluator evaluator,
      RunFolder folder,
      PrintStream console) {
    this(settings, checked, evaluator, folder, console, newSearch(settings, checked.spec()));
  }

  /**
   * A run that continues {@code search} (restored from a checkpoint) at its next generation;
   * candidate ids continue from the number of evaluations so far.
   */
  public GenerationLoop(
      RunSettings settings,
      Preflight.CheckedRun checked,
      GenerationEvaluator evaluator,
      RunFolder folder,
      PrintStream console,
      SearchRun search) {
    this.settings = settings;
    this.checked = checked;
    this.evaluator = evaluator;
    this.folder = folder;
    this.console = console;
    this.search = search;
  }

  /**
   * Scores the best merge, the uniform average and each source on the held-out tasks with
   * evaluators from {@code factory} once the search is done (when held-out tasks are configured).
   */
  public GenerationLoop withHeldOutEvaluation(HeldOutEvaluation.EvaluatorFactory factory) {
    this.heldOut = factory;
    return this;
  }

  /** The outcome: the best genome and the fitness of every generation. */
  public record Result(Evaluated best, List<GenerationSummary> generations) {}

  /** One line of {@code generations.jsonl}. */
  public record GenerationSummary(
      int generation,
      double best,
      double mean,
      double bestSoFar,
      int candidates,
      int failed,
      double seconds) {}

  /** Runs every generation, then writes {@code best/}; marks the folder failed on any error. */
  public Result execute() {
    try {
      Result result = loop();
      if (checked.spec().dataFlow() != null) {
        result = DataFlowRun.chooseSnapshot(result, snapshots, checked, evaluator, console);
      }
      writeBest(result.best());
      List<HeldOutEvaluation.Entry> table =
          heldOut != null && checked.testFitness() != null
              ? HeldOutEvaluation.evaluate(checked, result.best().genome(), heldOut)
              : List.of();
      writeReport(result, table);
      folder.writeStatus("completed", null);
      return result;
    } catch (RuntimeException e) {
      folder.writeStatus("failed", String.valueOf(e.getMessage()));
      throw e;
    } finally {
      folder.close();
    }
  }

  private Result loop() {
    List<GenerationSummary> summaries = new ArrayList<>();
    ExampleLog examples =
        settings.recordExamples()
            ? new ExampleLog(folder.files(), search.generations(), checked.spec().tasks())
            : null;
    long nextId = search.evaluations();
    for (int g = search.generations();
        g < settings.generations() && search.stopReason().isEmpty();
        g++) {
      long start = System.nanoTime();
      List<Genome> genomes = search.ask();
      List<CandidateSpec> candidates = new ArrayList<>();
      for (Genome genome : genomes) {
        candidates.add(
            new CandidateSpec(nextId++, DataFlowRun.candidateGenes(checked.spec(), genome, g)));
      }
      Evaluated bestSoFar = search.best();
      String description =
          String.format(
              Locale.ROOT,
              "evomerge generation %d/%d · %d candidates × %d dev shards · best %s",
              g + 1,
              settings.generations(),
              candidates.size(),
              settings.eval().shards(),
              bestSoFar == null ? "-" : String.format(Locale.ROOT, "%.4f", bestSoFar.fitness()));
      Map<Long, CandidateResult> results = evaluator.evaluate(description, candidates);
      double[] fitness = new double[genomes.size()];
      double best = Double.NEGATIVE_INFINITY;
      double sum = 0;
      int failed = 0;
      int bestIndex = -1;
      for (int i = 0; i < candidates.size(); i++) {
        CandidateResult result = results.get(candidates.get(i).id());
        if (result == null) {
          throw new RunError("No result came back for candidate " + candidates.get(i).id());
        }
        double f = result.isFailed() ? Double.NaN : checked.fitness().fitness(result.tasks());
        if (!Double.isFinite(f)) {
          // penalised, recorded, and the run goes on
          fitness[i] = Double.NEGATIVE_INFINITY;
          failed++;
        } else {
          fitness[i] = f;
          bestIndex = f > best ? i : bestIndex;
          best = Math.max(best, fitness[i]);
          sum += fitness[i];
        }
        folder.appendHistory(historyLine(g, candidates.get(i), result));
      }
      if (examples != null) {
        examples.append(g, candidates, results);
      }
      search.tell(genomes, fitness);
      if (bestIndex >= 0) {
        snapshots.add(new Evaluated(genomes.get(bestIndex), best)); // this generation's best
      }
      folder.writeCheckpoint(search.checkpointJson());
      double seconds = (System.nanoTime() - start) / 1e9;
      GenerationSummary summary =
          new GenerationSummary(
              g,
              best,
              failed == fitness.length ? Double.NaN : sum / (fitness.length - failed),
              search.best().fitness(),
              fitness.length,
              failed,
              seconds);
      summaries.add(summary);
      folder.appendGeneration(generationLine(summary));
      console.printf(
          Locale.ROOT,
          "generation %d/%d  best %.5f  mean %.5f  best so far %.5f  (%d candidates%s, %.1f s)%n",
          g + 1,
          settings.generations(),
          summary.best(),
          summary.mean(),
          summary.bestSoFar(),
          summary.candidates(),
          failed == 0 ? "" : ", " + failed + " failed",
          seconds);
    }
    search.stopReason().ifPresent(reason -> console.println("search stopped: " + reason));
    return new Result(search.best(), summaries);
  }

  /**
   * The search a run's settings describe: strategy and options over one bounded weight per source,
   * started (unless disabled) from the uniform average and from each source alone.
   *
   * @throws RunError naming the config key when the strategy or its options are invalid
   */
  /** Genes that are fractions of a tensor (mergekit's density, epsilon, gamma, t). */
  static final java.util.Set<String> FRACTION_GENES =
      java.util.Set.of("density", "epsilon", "gamma", "t");

  /**
   * The search of a checked run: {@link #newSearch(RunSettings)}, or for a data-flow search the
   * layer-path space of {@code spec}.
   */
  public static SearchRun newSearch(RunSettings settings, dev.evomerge.worker.eval.EvalSpec spec) {
    return spec.dataFlow() == null
        ? newSearch(settings)
        : DataFlowRun.newSearch(settings, spec.dataFlow());
  }

  public static SearchRun newSearch(RunSettings settings) {
    if (EvolverRun.enabled(settings)) {
      return EvolverRun.newSearch(settings);
    }
    return newSearch(settings, seedGenomes(settings, i -> true), Map.of());
  }

  /**
   * The search of {@link #newSearch(RunSettings)} started from {@code initial} genomes instead of
   * the default seeds, with {@code optionOverrides} on top of the configured strategy options (a
   * warm start: {@link WarmStart}).
   */
  public static SearchRun newSearch(
      RunSettings settings, List<Genome> initial, Map<String, Object> optionOverrides) {
    RunSettings.SearchSettings s = settings.search();
    Map<String, Object> options = new java.util.LinkedHashMap<>(s.options());
    options.putAll(optionOverrides);
    StoppingRules stopping =
        new StoppingRules(s.maxEvaluations(), null, s.plateauGenerations(), s.plateauThreshold());
    try {
      return SearchRun.start(
          new SearchRun.Spec(s.strategy(), options, settings.seed()),
          bounds(settings),
          initial,
          stopping);
    } catch (IllegalArgumentException e) {
      throw new RunError(
          String.format(
              "Invalid search for evomerge.search.strategy = %s with evomerge.search.options"
                  + " %s: %s",
              s.strategy(), s.options(), e.getMessage()),
          e);
    }
  }

  /**
   * One bounded gene per (source, gene, cell): fractions in [0.01, 1], others in [lower, upper];
   * with more than one cell, a cell's genes form one crossover block.
   */
  static Bounds bounds(RunSettings settings) {
    RunSettings.SearchSettings s = settings.search();
    int n = settings.sources().size();
    List<String> genes = settings.genes();
    int g = genes.size();
    // genome index (i * g + j) * cells + c: source i, gene j, cell c (layer group and filter)
    int cells = settings.layout().cells();
    double[] lower = new double[n * g * cells];
    double[] upper = new double[n * g * cells];
    for (int k = 0; k < lower.length; k++) {
      boolean fraction = FRACTION_GENES.contains(genes.get(k / cells % g));
      lower[k] = fraction ? 0.01 : s.lower();
      upper[k] = fraction ? 1.0 : s.upper();
    }
    if (cells == 1) {
      return new Bounds(lower, upper, null); // no layer groups or filters: each gene on its own
    }
    // a cell's genes (every source and gene of one layer group and filter) are one crossover
    // block: block-wise crossover inherits a layer group's merge from one parent
    int[] blocks = new int[lower.length];
    java.util.Arrays.setAll(blocks, k -> k % cells);
    return new Bounds(lower, upper, blocks);
  }

  /**
   * Unless seeding is disabled: the uniform average (when {@code sources} accepts every source),
   * then each accepted source alone (its weight at the top, the other weights at the bottom).
   */
  static List<Genome> seedGenomes(RunSettings settings, java.util.function.IntPredicate sources) {
    List<Genome> initial = new ArrayList<>();
    if (!settings.search().seedWithSources()) {
      return initial;
    }
    Bounds bounds = bounds(settings);
    int n = settings.sources().size();
    int g = settings.genes().size();
    int cells = settings.layout().cells();
    boolean all = java.util.stream.IntStream.range(0, n).allMatch(sources);
    if (all) {
      initial.add(new Genome(bounds.center()));
    }
    int weight = settings.genes().indexOf("weight");
    for (int i = 0; weight >= 0 && i < n; i++) {
      if (!sources.test(i)) {
        continue;
      }
      // source i alone: its weight at the top, the other weights at the bottom, in every cell
      double[] alone = bounds.center();
      for (int k = 0; k < n; k++) {
        for (int c = 0; c < cells; c++) {
          int at = (k * g + weight) * cells + c;
          alone[at] = k == i ? bounds.upper()[at] : bounds.lower()[at];
        }
      }
      initial.add(new Genome(alone));
    }
    return initial;
  }

  private void writeBest(Evaluated best) {
    if (best == null || !Double.isFinite(best.fitness())) {
      throw new RunError(
          "Every candidate failed; the errors are in " + folder.files().path("history.jsonl"));
    }
    if (checked.spec().dataFlow() != null) {
      DataFlowRun.writeBest(settings, checked, best, folder, console);
      return;
    }
    if (checked.spec().population() != null) {
      EvolverRun.writeBest(settings, checked, best, folder, console);
      return;
    }
    double[] genome = best.genome().genes();
    ObjectNode provenance = RunFolder.JSON.createObjectNode();
    ObjectNode origin = provenance.putObject("evomerge");
    origin.put("merge_method", settings.mergeMethod());
    origin.put("fitness", best.fitness());
    origin.put("seed", settings.seed());
    CandidateParams params = new CandidateParams(checked.spec(), genome);
    ArrayNode models = origin.putArray("models");
    dev.evomerge.worker.eval.GeneLayout layout = checked.spec().layout();
    for (int i = 0; i < settings.sources().size(); i++) {
      ObjectNode m = models.addObject().put("model", checked.spec().sourceUris().get(i));
      m.set("parameters", RunFolder.JSON.valueToTree(params.perModel().get(i)));
      if (layout.cells() > 1) {
        // per layer group and filter: layers [start, end), the filter (null: the rest), values
        ArrayNode cells = m.putArray("cells");
        for (int c = 0; c < layout.cells(); c++) {
          int group = c / (layout.filters().size() + 1);
          int filter = c % (layout.filters().size() + 1);
          ObjectNode cell = cells.addObject();
          cell.putArray("layers").add(layout.groupStart(group)).add(layout.groupStart(group + 1));
          cell.put(
              "filter", filter < layout.filters().size() ? layout.filters().get(filter) : null);
          cell.set("parameters", RunFolder.JSON.valueToTree(params.perModel(c).get(i)));
        }
      }
    }
    MergedModelWriter.write(
        checked.spec(), genome, folder.bestModelDir(), writeOptions(settings), provenance);
    folder.writeText(
        "best/recipe.yaml",
        RecipeYaml.write(MergedModelWriter.recipe(checked.spec(), genome, settings.outDtype())));
    folder.writeJson("best.json", origin);
    console.printf(
        Locale.ROOT,
        "best fitness %.5f with genes %s -> %s%n",
        best.fitness(),
        best.genome(),
        folder.bestModelDir());
  }

  private void writeReport(Result result, List<HeldOutEvaluation.Entry> table) {
    StringBuilder md = new StringBuilder();
    md.append("# evomerge run ").append(folder.files().dir().getName()).append("\n\n");
    if (checked.spec().dataFlow() != null) {
      md.append("- search space: data flow (layer paths), ");
      md.append(checked.spec().dataFlow().slots()).append(" slots + scaling matrix");
    } else if (checked.spec().population() != null) {
      md.append("- Evolver: the population of ").append(checked.spec().sourceUris().size());
      md.append(" individuals over the sources, merged with `");
      md.append(settings.finalMerge().method()).append('`');
    } else {
      md.append("- merge method: `").append(settings.mergeMethod()).append("`, genes ");
      md.append(settings.genes()).append(" per source");
    }
    if (checked.spec().baseUri() != null) {
      md.append(", base `").append(checked.spec().baseUri()).append('`');
    }
    md.append("\n- sources: ");
    checked.spec().sourceUris().forEach(u -> md.append('`').append(u).append("` "));
    md.append("\n- search: `").append(settings.search().strategy()).append("`, seed ");
    md.append(settings.seed()).append(", ").append(search.generations()).append(" generations, ");
    md.append(search.evaluations()).append(" evaluations\n");
    md.append(
        String.format(
            Locale.ROOT,
            "- best dev fitness: %.5f (tasks: %s)%n",
            result.best().fitness(),
            checked.fitness().tasks().stream().map(t -> t.name()).toList()));
    md.append("- best merge: `best/` (HF checkpoint), `best/recipe.yaml` (mergekit recipe)\n");
    if (!table.isEmpty()) {
      List<String> tasks = checked.testFitness().tasks().stream().map(t -> t.name()).toList();
      md.append("\n## Held-out evaluation (never used for selection)\n\n| model | fitness |");
      tasks.forEach(t -> md.append(' ').append(t).append(" |"));
      md.append("\n|---|---|");
      tasks.forEach(t -> md.append("---|"));
      md.append('\n');
      ArrayNode json = RunFolder.JSON.createArrayNode();
      console.println("held-out evaluation (fitness, higher is better):");
      for (HeldOutEvaluation.Entry e : table) {
        md.append("| ").append(e.model()).append(" | ").append(format(e.fitness())).append(" |");
        tasks.forEach(
            t ->
                md.append(' ')
                    .append(format(e.metrics().getOrDefault(t, Double.NaN)))
                    .append(" |"));
        md.append('\n');
        console.printf(Locale.ROOT, "  %-60s %s%n", e.model(), format(e.fitness()));
        ObjectNode row = json.addObject().put("model", e.model());
        number(row, "fitness", e.fitness());
        ObjectNode metrics = row.putObject("tasks");
        e.metrics().forEach((k, v) -> number(metrics, k, v));
        if (e.error() != null) {
          row.put("error", e.error());
        }
      }
      ObjectNode doc = RunFolder.JSON.createObjectNode();
      doc.set("models", json);
      folder.writeJson("test-evaluation.json", doc);
    }
    folder.writeText("report.md", md.toString());
  }

  private static String format(double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%.4f", v) : "failed";
  }

  private ObjectNode historyLine(int generation, CandidateSpec candidate, CandidateResult result) {
    ObjectNode line = RunFolder.JSON.createObjectNode();
    line.put("generation", generation);
    line.put("candidate", candidate.id());
    line.put("recipe_hash", recipeHash(candidate));
    ArrayNode genome = line.putArray("genome");
    for (double w : candidate.weights()) {
      genome.add(w);
    }
    number(
        line,
        "fitness",
        result.isFailed() ? Double.NaN : checked.fitness().fitness(result.tasks()));
    if (!result.isFailed()) {
      ObjectNode tasks = line.putObject("tasks");
      checked.fitness().metrics(result.tasks()).forEach((name, v) -> number(tasks, name, v));
    }
    line.put("tokens", result.tokens());
    line.put("examples", result.examples());
    line.put("duration_ms", result.nanos() / 1e6);
    line.put("devices", result.devices());
    line.put("batch_size", result.batchSizes());
    if (result.isFailed()) {
      line.put("error", result.error());
    }
    return line;
  }

  /**
   * The first 12 hex digits of the SHA-256 of the candidate's mergekit recipe: equal merges (same
   * sources, method, parameters and seed) have equal hashes, across runs.
   */
  private String recipeHash(CandidateSpec candidate) {
    try {
      String yaml =
          checked.spec().dataFlow() != null
              ? DataFlowRun.describe(checked.spec(), candidate.weights())
              : checked.spec().population() != null
                  ? EvolverRun.describe(checked.spec(), candidate.weights(), settings.outDtype())
                  : RecipeYaml.write(
                      MergedModelWriter.recipe(
                          checked.spec(), candidate.weights(), settings.outDtype()));
      byte[] digest =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest(yaml.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return java.util.HexFormat.of().formatHex(digest).substring(0, 12);
    } catch (java.security.NoSuchAlgorithmException | IllegalArgumentException e) {
      return null; // a genome that does not fit the method: its error is in the line
    }
  }

  /** JSON has no NaN or infinity: those are written as null. */
  private static void number(ObjectNode node, String key, double value) {
    if (Double.isFinite(value)) {
      node.put(key, value);
    } else {
      node.putNull(key);
    }
  }

  private static ObjectNode generationLine(GenerationSummary s) {
    ObjectNode line = RunFolder.JSON.createObjectNode();
    line.put("generation", s.generation());
    number(line, "best", s.best());
    number(line, "mean", s.mean());
    number(line, "best_so_far", s.bestSoFar());
    line.put("candidates", s.candidates());
    line.put("failed", s.failed());
    line.put("seconds", s.seconds());
    return line;
  }

  /**
   * How a run writes {@code best/}: {@code evomerge.merge.out-dtype} and {@code .max-shard-size}.
   */
  static WriteOptions writeOptions(RunSettings settings) {
    return new WriteOptions(dtype(settings.outDtype()), settings.maxShardBytes());
  }

  static DType dtype(String name) {
    return switch (name) {
      case "float32" -> DType.F32;
      case "float16" -> DType.F16;
      case "bfloat16" -> DType.BF16;
      default -> throw new RunError("Invalid evomerge.merge.out-dtype: " + name);
    };
  }
}
