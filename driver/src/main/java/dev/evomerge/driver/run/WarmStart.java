package dev.evomerge.driver.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.search.Bounds;
import dev.evomerge.driver.search.CmaEs;
import dev.evomerge.driver.search.Evaluated;
import dev.evomerge.driver.search.Genome;
import dev.evomerge.driver.search.SearchRun;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code evomerge run --warm-start PREVIOUS_RUN}: a new search seeded from an earlier run folder.
 *
 * <p>The earlier run's search is restored from {@code checkpoint/search.json} (its ledger replayed)
 * and its final population, best first, becomes the new population: DE, GA and NSGA-II start from
 * it; CMA-ES starts at the earlier best with the earlier step size (kept between a tenth of the
 * default and the default, so a converged run can still move when the data changed). Genes are
 * matched by source URI and gene name, so sources may be added, dropped or reordered: a gene that
 * the earlier run did not have starts at the strategy's default (the centre of its bounds), and
 * each added source also joins as "that source alone" when {@code seed-with-sources} is on. Options
 * set explicitly in {@code evomerge.search.options} win over the warm-start ones.
 */
public final class WarmStart {
  /** Where the seeds came from, for the console and the report. */
  public record Seeded(SearchRun search, Path from, List<String> addedSources, String summary) {}

  private WarmStart() {}

  /**
   * A new search for {@code settings} seeded from the run folder {@code previous}.
   *
   * @throws RunError naming the folder when it is not a run folder or holds no usable search
   */
  public static Seeded newSearch(RunSettings settings, Path previous) {
    Config prior = previousConfig(previous);
    List<String> priorSources =
        prior.getStringList("evomerge.models.sources").stream().map(Preflight::toUri).toList();
    List<String> priorGenes = prior.getStringList("evomerge.merge.genes");
    List<Evaluated> population = previousPopulation(previous);
    CmaEs priorCma = null;
    try {
      if (Files.exists(previous.resolve("checkpoint/search.json"))
          && restore(previous).strategy() instanceof CmaEs cma) {
        priorCma = cma;
      }
    } catch (RunError e) {
      // population came from the history; no CMA-ES state
    }

    List<String> sources = settings.sources().stream().map(Preflight::toUri).toList();
    List<String> genes = settings.genes();
    Bounds bounds = GenerationLoop.bounds(settings);
    double[] centre = bounds.center();
    int[] sourceMap = new int[sources.size()];
    List<String> added = new ArrayList<>();
    for (int i = 0; i < sources.size(); i++) {
      sourceMap[i] = priorSources.indexOf(sources.get(i));
      if (sourceMap[i] < 0) {
        added.add(sources.get(i));
      }
    }
    int g = genes.size();
    int gp = priorGenes.size();
    // genome index (source * genes + gene) * cells + cell, as GenerationLoop.bounds lays it out
    int cells = settings.layout().cells();
    Set<Genome> mapped = new LinkedHashSet<>();
    for (Evaluated e : population) {
      double[] old = e.genome().genes();
      if (old.length != priorSources.size() * gp * cells) {
        throw new RunError(
            String.format(
                "Run %s has genomes of length %d, not its %d sources x %d genes x %d layer-group"
                    + " and filter cells of this run (evomerge.merge.layer-groups, .filters)",
                previous, old.length, priorSources.size(), gp, cells));
      }
      double[] x = centre.clone();
      for (int i = 0; i < sources.size(); i++) {
        for (int j = 0; j < g; j++) {
          int q = priorGenes.indexOf(genes.get(j));
          for (int c = 0; sourceMap[i] >= 0 && q >= 0 && c < cells; c++) {
            x[(i * g + j) * cells + c] = old[(sourceMap[i] * gp + q) * cells + c];
          }
        }
      }
      mapped.add(new Genome(bounds.repair(x)));
    }
    if (mapped.isEmpty()) {
      throw new RunError("Run " + previous + " evaluated no candidate to warm-start from");
    }

    // added sources first (the initial population is cut to its size from the front)
    List<Genome> initial =
        new ArrayList<>(GenerationLoop.seedGenomes(settings, i -> sourceMap[i] < 0));
    initial.addAll(mapped);
    Map<String, Object> overrides = new LinkedHashMap<>();
    Map<String, Object> configured = settings.search().options();
    String summary;
    if (settings.search().strategy().equals("cmaes")) {
      Genome best = mapped.iterator().next();
      if (!configured.containsKey("start")) {
        overrides.put("start", Arrays.stream(best.genes()).boxed().toList());
      }
      double defaultSigma = CmaEs.Config.defaults(bounds).sigma0();
      double sigma =
          priorCma == null
              ? defaultSigma
              : Math.min(defaultSigma, Math.max(priorCma.sigma(), defaultSigma / 10));
      if (!configured.containsKey("sigma0")) {
        overrides.put("sigma0", sigma);
      }
      summary =
          String.format(
              java.util.Locale.ROOT,
              "CMA-ES starts at the earlier best %s with sigma %.4g",
              best,
              ((Number) overrides.getOrDefault("sigma0", configured.get("sigma0"))).doubleValue());
    } else {
      summary =
          String.format(
              "%s starts from the earlier population (%d genomes, best first)",
              settings.search().strategy(), mapped.size());
    }
    if (!added.isEmpty()) {
      summary += "; sources added since: " + added;
    }
    SearchRun search = GenerationLoop.newSearch(settings, initial, overrides);
    return new Seeded(search, previous, List.copyOf(added), summary);
  }

  /**
   * The search of a run: new when {@code warmStart} is null; else warm-started from it, a run
   * folder, a pointer file ({@code latest.json}) or the name of a pointer under the output root
   * ({@code latest}, {@code champion}; a fresh search, said on {@code console}, while there is
   * none).
   */
  public static SearchRun search(
      RunSettings settings,
      org.apache.hadoop.conf.Configuration conf,
      String warmStart,
      java.io.PrintStream console) {
    if (warmStart == null) {
      return GenerationLoop.newSearch(settings);
    }
    if (EvolverRun.enabled(settings)) {
      throw new RunError(
          "--warm-start does not apply to evomerge.search.strategy = evolver (its population is"
              + " the sources)");
    }
    String run;
    if (warmStart.equals(RunPointers.LATEST) || warmStart.equals(RunPointers.CHAMPION)) {
      java.util.Optional<String> named = RunPointers.read(settings.outputRoot(), warmStart, conf);
      if (named.isEmpty()) {
        console.printf(
            "warm start: no %s run under %s yet; starting a fresh search%n",
            warmStart, settings.outputRoot());
        return GenerationLoop.newSearch(settings);
      }
      run = named.get();
    } else if (warmStart.endsWith(".json") && Files.isRegularFile(Path.of(warmStart))) {
      try {
        run = RunFolder.JSON.readTree(Path.of(warmStart).toFile()).path("run").asText("");
      } catch (IOException e) {
        throw new RunError("Cannot read the pointer " + warmStart + " (--warm-start)", e);
      }
      if (run.isEmpty()) {
        throw new RunError("Pointer " + warmStart + " names no run (--warm-start)");
      }
    } else {
      run = warmStart;
    }
    Path dir = Path.of(run.replaceFirst("^file:", ""));
    if (!Files.isDirectory(dir)) {
      throw new RunError("Cannot warm-start from " + run + ": no such run folder (--warm-start)");
    }
    Seeded seeded = newSearch(settings, dir);
    console.println("warm start from " + dir + ": " + seeded.summary());
    return seeded.search();
  }

  private static Config previousConfig(Path previous) {
    Path config = previous.resolve("config.conf");
    if (!Files.isRegularFile(config)) {
      throw new RunError(
          "Cannot warm-start from " + previous + ": not a run folder (no config.conf)");
    }
    try {
      return ConfigFactory.parseFile(config.toFile()).resolve();
    } catch (ConfigException e) {
      throw new RunError("Cannot warm-start from " + previous + ": " + e.getMessage(), e);
    }
  }

  private static SearchRun restore(Path previous) {
    try {
      return SearchRun.restore(
          Files.readString(previous.resolve("checkpoint/search.json"), StandardCharsets.UTF_8));
    } catch (IOException | RuntimeException e) {
      throw new RunError("Cannot restore the search of " + previous + ": " + e.getMessage(), e);
    }
  }

  /**
   * The earlier run's final population, best first: from its checkpoint, or, when that cannot be
   * replayed (code or options changed since), its best evaluated genomes from {@code
   * history.jsonl}.
   */
  static List<Evaluated> previousPopulation(Path previous) {
    if (Files.exists(previous.resolve("checkpoint/search.json"))) {
      try {
        SearchRun run = restore(previous);
        List<Evaluated> population = new ArrayList<>(run.strategy().population());
        population.removeIf(e -> !Double.isFinite(e.fitness()));
        population.sort(Comparator.comparingDouble(Evaluated::fitness).reversed());
        Evaluated best = run.best();
        if (best != null && Double.isFinite(best.fitness())) {
          population.removeIf(e -> e.genome().equals(best.genome()));
          population.add(0, best);
        }
        if (!population.isEmpty()) {
          return population;
        }
      } catch (RunError e) {
        // fall back to the history below
      }
    }
    Path history = previous.resolve("history.jsonl");
    if (!Files.isRegularFile(history)) {
      throw new RunError(
          "Cannot warm-start from " + previous + ": no checkpoint/search.json nor history.jsonl");
    }
    List<Evaluated> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(history, StandardCharsets.UTF_8)) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode h = RunFolder.JSON.readTree(line);
        if (!h.path("fitness").isNumber()) {
          continue;
        }
        double[] genes = new double[h.get("genome").size()];
        for (int i = 0; i < genes.length; i++) {
          genes[i] = h.get("genome").get(i).asDouble();
        }
        out.add(new Evaluated(new Genome(genes), h.get("fitness").asDouble()));
      }
    } catch (IOException e) {
      throw new RunError("Cannot read " + history, e);
    }
    out.sort(Comparator.comparingDouble(Evaluated::fitness).reversed());
    return out.subList(0, Math.min(out.size(), 20));
  }
}
