package dev.evomerge.driver.run;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.search.Bounds;
import dev.evomerge.driver.search.Evaluated;
import dev.evomerge.driver.search.Genome;
import dev.evomerge.driver.search.SearchRun;
import dev.evomerge.driver.search.StoppingRules;
import dev.evomerge.driver.stats.StatisticsJob;
import dev.evomerge.driver.stats.StatsCommand;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.MergedModelWriter;
import dev.evomerge.worker.eval.PopulationSpec;
import dev.evomerge.worker.merge.MergeRecipe;
import dev.evomerge.worker.merge.RecipeYaml;
import dev.evomerge.worker.merge.StatisticsFolder;
import dev.evomerge.worker.stats.StatisticsOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;

/**
 * The parts of a run that differ in Evolver's evolve-then-merge mode ({@code
 * evomerge.search.strategy = evolver}): the checks of the settings, the population spec, the search
 * over whole populations, the sources' statistics (computed on the cluster before the first
 * generation, cached in each source's {@code statistics/} folder), and writing the merged
 * population with its recipes.
 */
public final class EvolverRun {
  /** The strategy name of the mode. */
  public static final String STRATEGY = "evolver";

  private EvolverRun() {}

  /** Whether the settings ask for Evolver's mode. */
  public static boolean enabled(RunSettings settings) {
    return settings.search().strategy().equals(STRATEGY);
  }

  /**
   * The population spec of {@code spec} (whose sources are {@code uris}): the final merge, its
   * parameters and each source's statistics folder, with every statistics data file checked.
   *
   * @throws RunError naming the key of a setting the mode cannot take
   */
  static PopulationSpec population(RunSettings settings, EvalSpec spec, Configuration conf) {
    if (!settings.mergeMethod().equals("linear") || !settings.genes().equals(List.of("weight"))) {
      throw new RunError(
          String.format(
              "evomerge.search.strategy = evolver evolves linear combinations of the sources: set"
                  + " evomerge.merge.method = linear and evomerge.merge.genes = [weight] (got %s,"
                  + " %s)",
              settings.mergeMethod(), settings.genes()));
    }
    if (!settings.mergeParameters().isEmpty()) {
      throw new RunError(
          "evomerge.merge.parameters does not apply with evomerge.search.strategy = evolver"
              + " (individuals are unnormalised linear combinations): remove "
              + settings.mergeParameters().keySet());
    }
    if (settings.layout().softmax()) {
      throw new RunError(
          "evomerge.merge.softmax does not apply with evomerge.search.strategy = evolver");
    }
    if (settings.base() != null) {
      throw new RunError(
          "evomerge.models.base is not used with evomerge.search.strategy = evolver (the population"
              + " is the sources): remove it");
    }
    if (spec.dataFlow() != null) {
      throw new RunError(
          "evomerge.search.strategy = evolver needs evomerge.search.space = parameter");
    }
    RunSettings.FinalMergeSettings f = settings.finalMerge();
    String method = f.method().equals("average") ? "linear" : f.method();
    Map<String, Object> parameters = new LinkedHashMap<>(f.parameters());
    if (method.equals("linear")) {
      if (!parameters.isEmpty()) {
        throw new RunError(
            "evomerge.search.final-merge-parameters: average takes none, got "
                + parameters.keySet());
      }
      parameters.put("normalize", true);
    }
    List<String> folders = new ArrayList<>();
    if (f.needsStatistics()) {
      for (int i = 0; i < spec.sourceUris().size(); i++) {
        String data = data(settings, spec, i);
        try {
          Path path = new Path(data);
          if (!path.getFileSystem(conf).exists(path)) {
            throw new RunError(
                String.format(
                    "No statistics data %s for source %s: set evomerge.statistics.data (one"
                        + " JSON-lines file per source, in evomerge.models.sources order)%s",
                    data,
                    spec.sourceUris().get(i),
                    settings.finalMerge().data().isEmpty()
                        ? ", or put a train.jsonl in the source's folder"
                        : ""));
          }
        } catch (IOException e) {
          throw new RunError("Cannot check statistics data " + data, e);
        }
        folders.add(
            new Path(spec.sourceUris().get(i), StatisticsFolder.DEFAULT_SUBFOLDER).toString());
      }
    }
    PopulationSpec population;
    try {
      population = new PopulationSpec(method, parameters, folders, List.of());
      // the method's parameters, checked on one tensor name before any cluster work
      dev.evomerge.worker.merge.Params.resolve(
          dev.evomerge.worker.merge.MergeMethods.get(method),
          parameters,
          java.util.Collections.nCopies(
              spec.sourceUris().size(), Map.<String, Object>of("weight", 1.0)),
          0,
          "(any tensor)",
          spec.sourceUris());
    } catch (IllegalArgumentException e) {
      throw new RunError(e.getMessage() + " (evomerge.search.final-merge-parameters)", e);
    }
    return population;
  }

  /**
   * The population of the sources themselves (individual {@code i} is source {@code i}, in every
   * cell): merged, it is the final method's plain merge of the sources.
   */
  public static double[] sourcesAlone(int sources, int cells) {
    int d = sources * cells;
    double[] genome = new double[sources * d];
    for (int i = 0; i < sources; i++) {
      for (int c = 0; c < cells; c++) {
        genome[i * d + i * cells + c] = 1;
      }
    }
    return genome;
  }

  /** Source {@code i}'s statistics data: configured, or its folder's train.jsonl. */
  static String data(RunSettings settings, EvalSpec spec, int i) {
    List<String> data = settings.finalMerge().data();
    return data.isEmpty()
        ? new Path(spec.sourceUris().get(i), "train.jsonl").toString()
        : Preflight.toUri(data.get(i));
  }

  /**
   * The search over populations: the initial population is each source alone (individual {@code i}
   * has coefficient 1 on source {@code i} in every cell), coefficients live in [0, 1], and
   * crossover takes a cell's coefficients together.
   */
  public static SearchRun newSearch(RunSettings settings) {
    int n = settings.sources().size();
    int cells = settings.layout().cells();
    int d = n * cells;
    double[] lower = new double[n * d];
    double[] upper = new double[n * d];
    int[] blocks = new int[n * d];
    double[] start = sourcesAlone(n, cells);
    for (int at = 0; at < n * d; at++) {
      upper[at] = 1;
      blocks[at] = at % cells;
    }
    RunSettings.SearchSettings s = settings.search();
    Map<String, Object> options = new LinkedHashMap<>(s.options());
    options.put("individuals", n);
    StoppingRules stopping =
        new StoppingRules(s.maxEvaluations(), null, s.plateauGenerations(), s.plateauThreshold());
    try {
      return SearchRun.start(
          new SearchRun.Spec(STRATEGY, options, settings.seed()),
          new Bounds(lower, upper, blocks),
          List.of(new Genome(start)),
          stopping);
    } catch (IllegalArgumentException e) {
      throw new RunError(
          String.format(
              "Invalid search for evomerge.search.strategy = evolver with evomerge.search.options"
                  + " %s: %s",
              s.options(), e.getMessage()),
          e);
    }
  }

  /**
   * Computes (or finds cached) the sources' statistics the final merge needs, on the cluster, and
   * returns the run with their identities in the spec (so executors holding older ones reload).
   * Anything else is returned as is.
   */
  public static Preflight.CheckedRun prepareStatistics(
      SparkSession spark, RunSettings settings, Preflight.CheckedRun checked, PrintStream out) {
    PopulationSpec population = checked.spec().population();
    if (population == null || population.statistics().isEmpty()) {
      return checked;
    }
    RunSettings.FinalMergeSettings f = settings.finalMerge();
    EvalSpec spec = checked.spec();
    List<StatisticsJob.Source> sources = new ArrayList<>();
    for (int i = 0; i < spec.sourceUris().size(); i++) {
      String data = data(settings, spec, i);
      List<String> texts;
      try {
        texts = StatsCommand.readTexts(new Path(data).toUri().getPath());
      } catch (IllegalArgumentException e) {
        throw new RunError(e.getMessage() + " (evomerge.statistics.data)", e);
      }
      if (f.maxRows() > 0 && texts.size() > f.maxRows()) {
        texts = texts.subList(0, f.maxRows());
      }
      sources.add(
          new StatisticsJob.Source(
              "source-" + i, spec.sourceUris().get(i), population.statistics().get(i), texts));
    }
    // both kinds always, so switching between fisher and regmean reuses one cached computation
    StatisticsOptions options =
        new StatisticsOptions(true, true, f.maxLength(), f.maxGramBytes(), f.gramBlock());
    long t0 = System.nanoTime();
    List<StatisticsJob.Outcome> outcomes;
    try {
      // deterministic, so non-finite sums (a model that overflows on its data) fail the run
      outcomes = StatisticsJob.run(spark, sources, options, spec.hadoopConf(), f.shards());
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new RunError(e.getMessage() + " (evomerge.statistics)", e);
    }
    List<String> keys = new ArrayList<>();
    for (StatisticsJob.Outcome o : outcomes) {
      out.printf(
          Locale.ROOT,
          "statistics of %s: %s (%d rows, %d tokens) in %s%n",
          o.name(),
          o.cached() ? "reused" : "computed",
          o.sequences(),
          o.tokens(),
          o.folder());
    }
    for (String folder : population.statistics()) {
      keys.add(StatisticsJob.cacheKey(folder, checked.hadoopConf()));
    }
    out.printf(Locale.ROOT, "statistics ready in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    EvalSpec withKeys = spec.withPopulation(population.withStatisticsKeys(keys));
    return new Preflight.CheckedRun(
        withKeys,
        checked.rows(),
        checked.fitness(),
        checked.testRows(),
        checked.testFitness(),
        checked.modelConfig(),
        checked.hadoopConf(),
        checked.frames());
  }

  /**
   * Writes the merged population as {@code best/} (the evaluated model), {@code best/recipe.yaml}
   * (the population merge over {@code individual-i}), {@code best/individuals/individual-i.yaml}
   * (each individual, a linear merge of the sources) and {@code best.json}.
   */
  static void writeBest(
      RunSettings settings,
      Preflight.CheckedRun checked,
      Evaluated best,
      RunFolder folder,
      PrintStream console) {
    EvalSpec spec = checked.spec();
    PopulationSpec population = spec.population();
    double[] genome = best.genome().genes();
    ObjectNode provenance = RunFolder.JSON.createObjectNode();
    ObjectNode origin = provenance.putObject("evomerge");
    origin.put("mode", "evolver");
    origin.put("final_merge", settings.finalMerge().method());
    origin.put("fitness", best.fitness());
    origin.put("seed", settings.seed());
    origin.set("final_merge_parameters", RunFolder.JSON.valueToTree(population.parameters()));
    ArrayNode individuals = origin.putArray("individuals");
    for (int i = 0; i < spec.sourceUris().size(); i++) {
      ObjectNode ind = individuals.addObject().put("name", "individual-" + i);
      ind.put("statistics_of", spec.sourceUris().get(i));
      if (!population.statistics().isEmpty()) {
        ind.put("statistics", population.statistics().get(i));
      }
      ArrayNode coefficients = ind.putArray("coefficients");
      for (double c : PopulationSpec.individual(spec, genome, i)) {
        coefficients.add(c);
      }
    }
    MergedModelWriter.write(
        spec, genome, folder.bestModelDir(), GenerationLoop.writeOptions(settings), provenance);
    Map<String, MergeRecipe> recipes =
        MergedModelWriter.populationRecipes(spec, genome, settings.outDtype());
    recipes.forEach(
        (name, recipe) ->
            folder.writeText(
                name.equals("population")
                    ? "best/recipe.yaml"
                    : "best/individuals/" + name + ".yaml",
                RecipeYaml.write(recipe)));
    folder.writeJson("best.json", origin);
    console.printf(
        Locale.ROOT,
        "best fitness %.5f: the population merged with %s -> %s%n",
        best.fitness(),
        settings.finalMerge().method(),
        folder.bestModelDir());
  }

  /** What a population candidate's recipe hash is taken over: every recipe of it, in order. */
  static String describe(EvalSpec spec, double[] genome, String outDtype) {
    StringBuilder sb = new StringBuilder();
    MergedModelWriter.populationRecipes(spec, genome, outDtype)
        .forEach(
            (name, recipe) ->
                sb.append("# ").append(name).append('\n').append(RecipeYaml.write(recipe)));
    return sb.toString();
  }
}
