package dev.evomerge.driver.cli;

import java.io.PrintStream;
import java.util.Arrays;

/** Entry point of {@code bin/evomerge} and of the spark-submit jar. */
public final class Main {
  static final String USAGE =
      """
      usage: evomerge <command> [options]

      commands:
        run      run a merge search from a HOCON config (--config FILE [--set key=value ...])
        resume   continue an interrupted run from its last completed generation (RUN_DIR)
        inspect  tensors, dtypes and architecture of model folders; compatibility of several
        merge    one-shot merge of a mergekit YAML recipe into an HF checkpoint (RECIPE --out DIR)
        stats    Fisher and Gram statistics of a model on its data, on Spark (--model DIR --data FILE)
        score    score a model folder on task files (--model DIR --task FILE...)
        bench    measure Spark overhead, bytes per candidate, storage reads per generation
        demo     train the zoo (once), then evolutionary merge searches on it in Spark local mode
        toy-zoo  write the toy zoo only (--out DIR)

      `evomerge <command> --help` describes a command.""";

  private Main() {}

  public static void main(String[] args) {
    int code = run(args, System.out, System.err);
    System.exit(code);
  }

  /** Runs a command; returns the process exit code (0 ok, 1 run failed, 2 bad input). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
      (args.length == 0 ? err : out).println(USAGE);
      return args.length == 0 ? 2 : 0;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    return switch (args[0]) {
      case "run" -> RunCommand.run(rest, out, err);
      case "resume" -> ResumeCommand.run(rest, out, err);
      case "inspect" -> dev.evomerge.driver.inspect.InspectCommand.run(rest, out, err);
      case "merge" -> dev.evomerge.driver.merge.MergeCommand.run(rest, out, err);
      case "stats" -> dev.evomerge.driver.stats.StatsCommand.run(rest, out, err);
      case "score" -> dev.evomerge.driver.score.ScoreCommand.run(rest, out, err);
      case "bench" ->
          dev.evomerge.driver.bench.GenerationBenchmark.run(
              rest, out, err, DemoCommand::benchSettings);
      case "demo" -> DemoCommand.run(rest, out, err);
      case "toy-zoo" -> ToyZooCommand.run(rest, out, err);
      default -> {
        err.println("evomerge: unknown command '" + args[0] + "'");
        err.println(USAGE);
        yield 2;
      }
    };
  }
}
