package dev.evomerge.driver.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.config.ConfigError;
import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.run.GenerationLoop;
import dev.evomerge.driver.run.Preflight;
import dev.evomerge.driver.run.RunError;
import dev.evomerge.driver.run.RunFiles;
import dev.evomerge.driver.run.RunFolder;
import dev.evomerge.driver.search.SearchRun;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;

/** {@code evomerge resume RUN_DIR [--set key=value ...]}. */
final class ResumeCommand {
  static final String USAGE =
      """
      usage: evomerge resume RUN_DIR [--set key=value ...]

      Continues an interrupted run (driver lost, machine rebooted, run failed) from its last
      completed generation, with the configuration saved in RUN_DIR/config.conf and the search
      state in RUN_DIR/checkpoint/search.json. The resumed run evaluates exactly the candidates
      the uninterrupted run would have, so it reaches the same best. --set overrides saved keys
      (for example evomerge.run.generations to extend a finished search's budget).""";

  private ResumeCommand() {}

  static int run(String[] args, PrintStream out, PrintStream err) {
    Options options;
    String dirArg = null;
    try {
      if (args.length > 0 && !args[0].startsWith("-")) {
        dirArg = args[0];
        args = java.util.Arrays.copyOfRange(args, 1, args.length);
      }
      options = Options.parse(args, Set.of());
    } catch (Options.UsageError e) {
      err.println("evomerge resume: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    if (options.help) {
      out.println(USAGE);
      return 0;
    }
    if (dirArg == null) {
      err.println("evomerge resume: RUN_DIR is required");
      err.println(USAGE);
      return 2;
    }
    return execute(dirArg, options.sets, out, err);
  }

  /**
   * Resumes the run folder at {@code dir}, a local path or a URI on any Hadoop filesystem; the
   * folder is reached with the {@code spark.hadoop.*} settings among {@code sets} (S3A endpoint and
   * credentials, which the saved config does not hold in full), then the saved config.
   */
  static int execute(String dir, List<String> sets, PrintStream out, PrintStream err) {
    RunSettings settings;
    Preflight.CheckedRun checked;
    SearchRun search;
    try {
      Configuration reach = new Configuration();
      ConfigLoader.hadoopOverrides(sets).forEach(reach::set);
      RunFiles files = RunFiles.at(dir, reach);
      String config =
          files
              .read("config.conf")
              .orElseThrow(() -> new RunError(dir + " is not a run folder (no config.conf)"));
      String state =
          new ObjectMapper()
              .readTree(files.read("status.json").orElse("{}"))
              .path("state")
              .asText();
      settings = ConfigLoader.load(config, files.path("config.conf").toString(), sets);
      Optional<String> checkpoint = files.read("checkpoint/search.json");
      search =
          checkpoint.isPresent()
              ? SearchRun.restore(checkpoint.get())
              : GenerationLoop.newSearch(settings, Preflight.check(settings).spec());
      if ("completed".equals(state) && search.generations() >= settings.generations()) {
        throw new RunError(
            "Run "
                + dir
                + " completed all "
                + settings.generations()
                + " generations; raise evomerge.run.generations with --set to continue it");
      }
      checked = Preflight.check(settings);
    } catch (ConfigError | RunError e) {
      err.println("evomerge: " + e.getMessage());
      return 2;
    } catch (IOException | UncheckedIOException | IllegalArgumentException e) {
      err.println("evomerge: cannot resume " + dir + ": " + e.getMessage());
      return 2;
    }
    out.printf(
        "resuming %s after generation %d of %d%n",
        dir, search.generations(), settings.generations());
    // the best model and report of an earlier attempt are replaced by the resumed run's
    RunFolder folder = RunFolder.reopen(dir, search.generations(), checked.hadoopConf());
    return RunCommand.runInFolder(settings, checked, folder, search, out, err);
  }
}
