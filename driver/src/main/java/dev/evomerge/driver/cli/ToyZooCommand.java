package dev.evomerge.driver.cli;

import dev.evomerge.driver.toy.ToyZoo;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;

/** {@code evomerge toy-zoo --out DIR [--seed N]}. */
final class ToyZooCommand {
  static final String USAGE =
      """
      usage: evomerge toy-zoo --out DIR [--seed N]

      Writes three small random Llama checkpoints (DIR/source-0..2, HF layout with a character
      tokenizer), DIR/dev.jsonl sampled from the hidden target 0.5*source-0 + 0.3*source-1 +
      0.2*source-2, and DIR/zoo.json describing it. Deterministic from the seed (default 7).""";

  static final double[] TARGET_MIX = {0.5, 0.3, 0.2};

  private ToyZooCommand() {}

  static int run(String[] args, PrintStream out, PrintStream err) {
    Options options;
    try {
      options = Options.parse(args, Set.of("--out", "--seed"));
    } catch (Options.UsageError e) {
      err.println("evomerge toy-zoo: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    if (options.help) {
      out.println(USAGE);
      return 0;
    }
    if (!options.values.containsKey("--out")) {
      err.println("evomerge toy-zoo: --out DIR is required");
      return 2;
    }
    long seed;
    try {
      seed = Long.parseLong(options.values.getOrDefault("--seed", "7"));
    } catch (NumberFormatException e) {
      err.println("evomerge toy-zoo: --seed must be an integer: " + options.values.get("--seed"));
      return 2;
    }
    ToyZoo.Zoo zoo = create(Path.of(options.values.get("--out")), seed);
    out.println("toy zoo written to " + zoo.dir().toAbsolutePath());
    return 0;
  }

  static ToyZoo.Zoo create(Path dir, long seed) {
    return ToyZoo.create(dir, seed, TARGET_MIX, 32, 40);
  }
}
