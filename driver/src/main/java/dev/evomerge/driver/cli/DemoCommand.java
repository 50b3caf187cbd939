package dev.evomerge.driver.cli;

import dev.evomerge.driver.toy.ToyZoo;
import java.io.File;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code evomerge demo}: the main job on the embedded default. Writes the toy zoo once, then runs
 * {@code conf/demo.conf} on it in Spark local mode.
 */
final class DemoCommand {
  static final String USAGE =
      """
      usage: evomerge demo [--home DIR] [--set key=value ...]

      Writes the toy zoo to DIR/work/toy-zoo (once; see `evomerge toy-zoo --help`), then runs
      the search of DIR/conf/demo.conf on it in Spark local mode, writing DIR/runs/demo-<time>/.
      The dev text is sampled from 0.5*source-0 + 0.3*source-1 + 0.2*source-2, so the best
      genome should approach those proportions. DIR defaults to $EVOMERGE_HOME or the current
      directory.""";

  private DemoCommand() {}

  static int run(String[] args, PrintStream out, PrintStream err) {
    Options options;
    try {
      options = Options.parse(args, Set.of("--home"));
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
    Path home = Path.of(homeValue).toAbsolutePath().normalize();
    File config = home.resolve("conf/demo.conf").toFile();
    if (!config.isFile()) {
      err.println("evomerge demo: " + config + " does not exist (use --home DIR)");
      return 2;
    }
    Path zooDir = home.resolve("work/toy-zoo");
    if (!Files.exists(zooDir.resolve("zoo.json"))) {
      out.println("writing toy zoo to " + zooDir);
    }
    ToyZoo.Zoo zoo = ToyZooCommand.openOrCreate(zooDir, 7);
    List<String> sets = new ArrayList<>();
    StringBuilder sources = new StringBuilder("[");
    for (Path source : zoo.sources()) {
      sources.append(sources.length() == 1 ? "" : ", ").append('"').append(source).append('"');
    }
    sets.add("evomerge.models.sources=" + sources + "]");
    sets.add("evomerge.eval.dev-set=\"" + zoo.devSet() + "\"");
    sets.add("evomerge.eval.test-set=\"" + zoo.testSet() + "\"");
    sets.add("evomerge.run.output-root=\"" + home.resolve("runs") + "\"");
    sets.addAll(options.sets);
    out.println(
        "target mix of the toy zoo: 0.5 / 0.3 / 0.2 (see " + zooDir.resolve("zoo.json") + ")");
    return RunCommand.execute(config, sets, out, err);
  }
}
