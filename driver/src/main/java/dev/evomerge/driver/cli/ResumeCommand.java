package dev.evomerge.driver.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.config.ConfigError;
import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.run.GenerationLoop;
import dev.evomerge.driver.run.Preflight;
import dev.evomerge.driver.run.RunError;
import dev.evomerge.driver.run.RunFolder;
import dev.evomerge.driver.search.SearchRun;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

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
    return execute(Path.of(dirArg), options.sets, out, err);
  }

  static int execute(Path dir, List<String> sets, PrintStream out, PrintStream err) {
    RunSettings settings;
    Preflight.CheckedRun checked;
    SearchRun search;
    try {
      Path config = dir.resolve("config.conf");
      if (!Files.isRegularFile(config)) {
        throw new RunError(dir + " is not a run folder (no config.conf)");
      }
      String state =
          new ObjectMapper().readTree(dir.resolve("status.json").toFile()).path("state").asText();
      settings = ConfigLoader.load(config.toFile(), sets);
      Path checkpoint = dir.resolve("checkpoint/search.json");
      search =
          Files.exists(checkpoint)
              ? SearchRun.restore(Files.readString(checkpoint, StandardCharsets.UTF_8))
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
    } catch (IOException | IllegalArgumentException e) {
      err.println("evomerge: cannot resume " + dir + ": " + e.getMessage());
      return 2;
    }
    deleteRecursively(dir.resolve("best"));
    out.printf(
        "resuming %s after generation %d of %d%n",
        dir, search.generations(), settings.generations());
    RunFolder folder = RunFolder.reopen(dir, search.generations());
    return RunCommand.runInFolder(settings, checked, folder, search, out, err);
  }

  /** The best model of an earlier attempt is replaced by the resumed run's. */
  private static void deleteRecursively(Path path) {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(path)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    } catch (IOException e) {
      throw new RunError("Cannot remove the earlier best model in " + path, e);
    }
  }
}
