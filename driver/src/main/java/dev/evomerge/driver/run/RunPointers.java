package dev.evomerge.driver.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.evomerge.driver.config.ConfigError;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.io.HfModelFolder;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Options;

/**
 * The {@code latest.json} and {@code champion.json} pointers under a runs root (object stores have
 * no symbolic links): small JSON files holding a run folder's path. Both move only after a run
 * completed; {@code latest} to every completed run, {@code champion} only when the new best merge
 * beats the champion's on the held-out (test) tasks by {@code evomerge.run.champion-margin}. The
 * champion's merge is scored again on this run's test rows, so both are compared on the same data;
 * the comparison goes into the run's {@code report.md}. A failed run never reaches this class, so
 * it leaves both pointers where they were.
 *
 * <p>Pointers are replaced atomically: on a local disk by a rename over the old file, on HDFS by
 * {@code FileContext.rename(OVERWRITE)}, on object stores by one PUT (visible whole or not at all).
 */
public final class RunPointers {
  public static final String LATEST = "latest";
  public static final String CHAMPION = "champion";
  static final String MARGIN_KEY = "evomerge.run.champion-margin";
  static final String POINTERS_KEY = "evomerge.run.pointers";
  private static final Set<String> OBJECT_STORES =
      Set.of("s3a", "s3", "gs", "abfs", "abfss", "wasb");

  /** What happened to the champion pointer after a run. */
  public record Decision(boolean moved, String reason, Double newTest, Double championTest) {}

  private RunPointers() {}

  /**
   * {@code evomerge.run.champion-margin} of the run's effective configuration.
   *
   * @throws ConfigError when it is negative or not a number
   */
  public static double margin(RunSettings settings) {
    Config c = ConfigFactory.parseString(settings.renderedConfig());
    double margin;
    try {
      margin = c.hasPath(MARGIN_KEY) ? c.getDouble(MARGIN_KEY) : 0.0;
    } catch (com.typesafe.config.ConfigException e) {
      throw new ConfigError("Invalid config value for '" + MARGIN_KEY + "': " + e.getMessage(), e);
    }
    if (!(margin >= 0) || Double.isInfinite(margin)) {
      throw new ConfigError(
          String.format(
              Locale.ROOT,
              "Invalid config value for '%s': %s must be a finite number >= 0",
              MARGIN_KEY,
              margin));
    }
    return margin;
  }

  /** {@code evomerge.run.pointers}: whether completed runs update the pointers. */
  public static boolean enabled(RunSettings settings) {
    Config c = ConfigFactory.parseString(settings.renderedConfig());
    return !c.hasPath(POINTERS_KEY) || c.getBoolean(POINTERS_KEY);
  }

  /** The run folder a pointer ({@link #LATEST} or {@link #CHAMPION}) under the root names. */
  public static Optional<String> read(String outputRoot, String which, Configuration conf) {
    org.apache.hadoop.fs.Path file = pointerFile(outputRoot, which);
    try {
      FileSystem fs = file.getFileSystem(conf);
      if (!fs.exists(file)) {
        return Optional.empty();
      }
      try (var in = fs.open(file)) {
        JsonNode node = RunFolder.JSON.readTree(in);
        String run = node.path("run").asText(null);
        if (run == null || run.isEmpty()) {
          throw new RunError("Pointer " + file + " names no run (no \"run\" field)");
        }
        return Optional.of(run);
      }
    } catch (IOException e) {
      throw new RunError("Cannot read pointer " + file, e);
    }
  }

  /**
   * After a completed run in {@code runDir}: decides on the champion (scoring the champion's merge
   * on this run's test rows with an evaluator from {@code factory}), appends the comparison to
   * {@code report.md}, moves {@code champion} if it was beaten and {@code latest} in any case. Does
   * nothing when {@code evomerge.run.pointers} is off.
   */
  public static Decision afterCompletedRun(
      RunSettings settings,
      Preflight.CheckedRun checked,
      RunFolder folder,
      HeldOutEvaluation.EvaluatorFactory factory,
      PrintStream console) {
    if (!enabled(settings)) {
      return new Decision(false, POINTERS_KEY + " is off", null, null);
    }
    String root = settings.outputRoot();
    String run = folder.location();
    double margin = margin(settings);
    Double newTest = evolvedTestFitness(folder.files());
    Optional<String> champion = read(root, CHAMPION, checked.hadoopConf());
    Decision decision;
    if (newTest == null) {
      decision =
          new Decision(
              false,
              "no held-out tasks (evomerge.eval.test-set / test-tasks): the champion pointer"
                  + " stays "
                  + champion.orElse("unset"),
              null,
              null);
    } else if (champion.isEmpty()) {
      decision =
          new Decision(true, "no champion yet: this run becomes the champion", newTest, null);
    } else if (champion.get().equals(run)) {
      decision = new Decision(true, "this run is already the champion", newTest, newTest);
    } else {
      decision = challenge(settings, checked, champion.get(), newTest, margin, factory);
    }
    appendToReport(folder.files(), run, champion.orElse(null), margin, decision);
    if (decision.moved()) {
      write(root, CHAMPION, pointer(settings, run, decision.newTest()), checked.hadoopConf());
    }
    write(root, LATEST, pointer(settings, run, newTest), checked.hadoopConf());
    console.println(
        "pointers: latest -> "
            + run
            + "; champion "
            + (decision.moved() ? "-> " + run : "stays " + champion.orElse("unset"))
            + " ("
            + decision.reason()
            + ")");
    return decision;
  }

  private static Decision challenge(
      RunSettings settings,
      Preflight.CheckedRun checked,
      String championRun,
      double newTest,
      double margin,
      HeldOutEvaluation.EvaluatorFactory factory) {
    String best = Preflight.toUri(championRun + "/best");
    HfModelFolder folder;
    try {
      folder = HfModelFolder.open(best, checked.hadoopConf());
    } catch (RuntimeException e) {
      return new Decision(
          true,
          "the champion's merge " + best + " can no longer be read (" + e.getMessage() + ")",
          newTest,
          null);
    }
    EvalSpec spec = checked.spec();
    String tokenizer = best + "/" + HfModelFolder.TOKENIZER;
    try {
      org.apache.hadoop.fs.Path t = new org.apache.hadoop.fs.Path(tokenizer);
      if (!t.getFileSystem(checked.hadoopConf()).exists(t)) {
        tokenizer = spec.tokenizerUri();
      }
    } catch (IOException e) {
      tokenizer = spec.tokenizerUri();
    }
    EvalSpec alone =
        new EvalSpec(
            List.of(best),
            null,
            List.of(folder.versionKey()),
            tokenizer,
            "linear",
            List.of("weight"),
            Map.of("normalize", true),
            settings.seed(),
            checked.testFitness().tasks(),
            spec.maxLength(),
            spec.batchSize(),
            spec.hadoopConf());
    CandidateResult r;
    try (GenerationEvaluator e = factory.create(alone, checked.testRows())) {
      r =
          e.evaluate(
                  "evomerge champion: " + championRun,
                  List.of(new CandidateSpec(0, new double[] {1})))
              .get(0L);
    }
    if (r == null || r.isFailed()) {
      return new Decision(
          false,
          "the champion could not be scored ("
              + (r == null ? "no result" : r.error())
              + "): it stays",
          newTest,
          null);
    }
    double championTest = checked.testFitness().fitness(r.tasks());
    boolean beats = newTest > championTest + margin;
    return new Decision(
        beats,
        String.format(
            Locale.ROOT,
            "held-out fitness %.5f vs the champion's %.5f on the same rows: %s by more than the"
                + " margin %s",
            newTest,
            championTest,
            beats ? "beats it" : "does not beat it",
            margin),
        newTest,
        championTest);
  }

  /** The held-out fitness of the evolved merge, from {@code test-evaluation.json}. */
  private static Double evolvedTestFitness(RunFiles files) {
    Optional<String> text = files.read("test-evaluation.json");
    if (text.isEmpty()) {
      return null;
    }
    try {
      for (JsonNode m : RunFolder.JSON.readTree(text.get()).path("models")) {
        // "evolved merge (best)", or "evolved path (best)" for a data-flow search
        if (m.path("model").asText().startsWith("evolved ")) {
          return m.path("fitness").isNumber() ? m.get("fitness").asDouble() : null;
        }
      }
      return null;
    } catch (IOException e) {
      throw new RunError("Cannot read " + files.path("test-evaluation.json"), e);
    }
  }

  private static void appendToReport(
      RunFiles files, String run, String champion, double margin, Decision decision) {
    StringBuilder md = new StringBuilder("\n## Champion\n\n");
    md.append("| | run | held-out fitness |\n|---|---|---|\n");
    md.append("| this run | `")
        .append(run)
        .append("` | ")
        .append(format(decision.newTest()))
        .append(" |\n");
    md.append("| champion before | ")
        .append(champion == null ? "none" : "`" + champion + "`")
        .append(" | ")
        .append(format(decision.championTest()))
        .append(" |\n\n");
    md.append(String.format(Locale.ROOT, "- margin (`%s`): %s%n", MARGIN_KEY, margin));
    md.append("- decision: ")
        .append(decision.moved() ? "champion -> this run" : "champion unchanged")
        .append(" (")
        .append(decision.reason())
        .append(")\n");
    try {
      files.write("report.md", files.read("report.md").orElse("") + md);
    } catch (java.io.UncheckedIOException e) {
      throw new RunError("Cannot write report.md in " + files.dir(), e);
    }
  }

  private static String format(Double v) {
    return v == null ? "-" : String.format(Locale.ROOT, "%.5f", v);
  }

  private static ObjectNode pointer(RunSettings settings, String run, Double testFitness) {
    ObjectNode node = RunFolder.JSON.createObjectNode();
    node.put("run", run);
    node.put("name", settings.name());
    node.put("updated", Instant.now().toString());
    if (testFitness != null) {
      node.put("test_fitness", testFitness);
    }
    return node;
  }

  private static org.apache.hadoop.fs.Path pointerFile(String outputRoot, String which) {
    return new org.apache.hadoop.fs.Path(Preflight.toUri(outputRoot), which + ".json");
  }

  /** Replaces {@code <root>/<which>.json} atomically (see the class comment). */
  static void write(String outputRoot, String which, ObjectNode content, Configuration conf) {
    org.apache.hadoop.fs.Path file = pointerFile(outputRoot, which);
    byte[] bytes;
    try {
      bytes =
          (RunFolder.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(content) + "\n")
              .getBytes(StandardCharsets.UTF_8);
      FileSystem fs = file.getFileSystem(conf);
      if (fs instanceof LocalFileSystem local) {
        Path target = local.pathToFile(file).toPath();
        Files.createDirectories(target.getParent());
        Path tmp = target.resolveSibling("." + which + ".json.tmp");
        Files.write(tmp, bytes);
        Files.move(
            tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } else if (OBJECT_STORES.contains(fs.getScheme())) {
        try (OutputStream out = fs.create(file, true)) {
          out.write(bytes);
        }
      } else {
        org.apache.hadoop.fs.Path tmp =
            new org.apache.hadoop.fs.Path(file.getParent(), "." + which + ".json.tmp");
        try (OutputStream out = fs.create(tmp, true)) {
          out.write(bytes);
        }
        FileContext.getFileContext(file.toUri(), conf).rename(tmp, file, Options.Rename.OVERWRITE);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write pointer " + file, e);
    }
  }
}
