package dev.evomerge.driver.cli;

import dev.evomerge.driver.config.ConfigError;
import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.run.GenerationLoop;
import dev.evomerge.driver.run.HeldOutEvaluation;
import dev.evomerge.driver.run.Preflight;
import dev.evomerge.driver.run.RunError;
import dev.evomerge.driver.run.RunFolder;
import dev.evomerge.driver.run.RunPointers;
import dev.evomerge.driver.run.WarmStart;
import dev.evomerge.driver.search.SearchRun;
import dev.evomerge.driver.spark.ConsoleProgress;
import dev.evomerge.driver.spark.DevFrames;
import dev.evomerge.driver.spark.SparkGenerationEvaluator;
import dev.evomerge.driver.spark.SparkSessions;
import java.io.File;
import java.io.PrintStream;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.SparkSession;

/** {@code evomerge run --config FILE [--set key=value ...]}. */
public final class RunCommand {
  static final String USAGE =
      """
      usage: evomerge run --config FILE [--warm-start RUN] [--set key=value ...]

      Runs a merge search: reads the HOCON config (defaults and every key documented in
      reference.conf), checks sources, tokenizer and dev set before starting Spark, evaluates
      evomerge.run.generations generations and writes a run folder under
      evomerge.run.output-root: status.json, config.conf, history.jsonl, generations.jsonl,
      best.json and the best merge in best/. A completed run moves output-root/latest.json to
      itself, and output-root/champion.json when it beats the champion on the held-out tasks by
      evomerge.run.champion-margin; a failed run moves neither.

        --config FILE      HOCON file (see conf/)
        --warm-start RUN   seed the search from an earlier run: a run folder, a pointer file,
                           or `latest` / `champion` (the pointers under output-root; a fresh
                           search when there is none yet). Sources added since join the search.
        --set key=value    override one key (repeatable); -Dkey=value works too
      Keys under spark.* pass through to the SparkSession (default master local[*]).""";

  private RunCommand() {}

  public static int run(String[] args, PrintStream out, PrintStream err) {
    Options options;
    try {
      options = Options.parse(args, Set.of("--config", "--warm-start"));
    } catch (Options.UsageError e) {
      err.println("evomerge run: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    if (options.help) {
      out.println(USAGE);
      return 0;
    }
    String config = options.values.get("--config");
    if (config == null) {
      err.println("evomerge run: --config FILE is required");
      err.println(USAGE);
      return 2;
    }
    return execute(new File(config), options.sets, options.values.get("--warm-start"), out, err);
  }

  static int execute(File config, List<String> sets, PrintStream out, PrintStream err) {
    return execute(config, sets, null, out, err);
  }

  /**
   * Loads, checks and runs, warm-started from {@code warmStart} when given; bad input exits 2
   * before Spark starts or any folder is written.
   */
  static int execute(
      File config, List<String> sets, String warmStart, PrintStream out, PrintStream err) {
    RunSettings settings;
    Preflight.CheckedRun checked;
    SearchRun search;
    try {
      settings = ConfigLoader.load(config, sets);
      RunPointers.margin(settings);
      checked = Preflight.check(settings);
      if (checked.spec().dataFlow() == null) {
        search = WarmStart.search(settings, checked.hadoopConf(), warmStart, out);
      } else if (warmStart == null) {
        search = GenerationLoop.newSearch(settings, checked.spec());
      } else {
        throw new RunError(
            "--warm-start seeds parameter-space searches only, not evomerge.search.space ="
                + " dataflow");
      }
    } catch (ConfigError | RunError e) {
      err.println("evomerge: " + e.getMessage());
      return 2;
    }
    RunFolder folder =
        RunFolder.create(
            settings.outputRoot(),
            settings.name(),
            settings.renderedConfig(),
            checked.hadoopConf());
    return runInFolder(settings, checked, folder, search, out, err);
  }

  /**
   * Starts Spark (event log in the folder unless configured otherwise) and runs the generation loop
   * in {@code folder}, continuing {@code search}; shared by {@code run} and {@code resume}.
   */
  static int runInFolder(
      RunSettings settings,
      Preflight.CheckedRun checked,
      RunFolder folder,
      SearchRun search,
      PrintStream out,
      PrintStream err) {
    out.println("run folder: " + folder.location());
    // a session this command starts is stopped at the end, which also closes the event log
    boolean ownSession = SparkSession.getDefaultSession().isEmpty();
    SparkSession spark =
        SparkSessions.getOrCreate(
            SparkSessions.withEventLog(settings.spark(), folder::eventLogDir));
    try {
      // Parquet and CSV tasks are read with Spark's reader, before the first generation
      checked = DevFrames.read(spark, checked);
      // Evolver with fisher/regmean: the sources' statistics, on the cluster (or cached)
      checked = dev.evomerge.driver.run.EvolverRun.prepareStatistics(spark, settings, checked, out);
    } catch (RunError e) {
      folder.writeStatus("failed", e.getMessage());
      folder.close();
      if (ownSession) {
        spark.stop();
      }
      err.println("evomerge: " + e.getMessage());
      return 2;
    }
    try (SparkGenerationEvaluator evaluator =
        new SparkGenerationEvaluator(
            spark,
            checked.spec(),
            checked.rows(),
            settings.eval().shards(),
            settings.eval().gpusPerTask())) {
      if (ConsoleProgress.wanted()) {
        evaluator.withConsoleProgress(out);
      }
      String ui = evaluator.monitorUrl();
      out.println("Spark UI: " + (ui == null ? "disabled (spark.ui.enabled=false)" : ui));
      HeldOutEvaluation.EvaluatorFactory heldOut =
          (spec, rows) ->
              new SparkGenerationEvaluator(
                  spark, spec, rows, settings.eval().shards(), settings.eval().gpusPerTask());
      new GenerationLoop(settings, checked, evaluator, folder, out, search)
          .withHeldOutEvaluation(heldOut)
          .execute();
      try {
        RunPointers.afterCompletedRun(settings, checked, folder, heldOut, out);
      } catch (RuntimeException e) {
        // the run itself completed: its status stays, the pointers stay where they were
        err.println("evomerge: run completed, but latest/champion were not updated: " + e);
        return 1;
      }
      return 0;
    } catch (RunError e) {
      folder.writeStatus("failed", e.getMessage());
      err.println("evomerge: " + e.getMessage());
      return 2;
    } catch (RuntimeException e) {
      folder.writeStatus("failed", String.valueOf(e));
      err.println("evomerge: run failed: " + e);
      e.printStackTrace(err);
      return 1;
    } finally {
      folder.close();
      if (ownSession) {
        spark.stop();
      }
    }
  }
}
