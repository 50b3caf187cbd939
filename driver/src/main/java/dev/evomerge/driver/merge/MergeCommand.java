package dev.evomerge.driver.merge;

import ai.djl.Device;
import dev.evomerge.driver.cli.Args;
import dev.evomerge.worker.io.WriteOptions;
import dev.evomerge.worker.merge.MergePlan;
import dev.evomerge.worker.merge.MergeRecipe;
import dev.evomerge.worker.merge.MergeRunner;
import dev.evomerge.worker.merge.RecipeYaml;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * {@code evomerge merge RECIPE.yaml --out DIR [--seed N] [--device cpu|gpu] [--model NAME=PATH]
 * [--max-shard-size SIZE]}. Exit codes: 0 merged, 1 the merge failed, 2 bad usage.
 */
public final class MergeCommand {
  static final String USAGE =
      String.join(
          "\n",
          "usage: evomerge merge RECIPE.yaml --out DIR [--seed N] [--device cpu|gpu]"
              + " [--model NAME=PATH]... [--statistics NAME=DIR]... [--max-shard-size SIZE]",
          "",
          "Merges the models of a mergekit recipe into a new Hugging Face checkpoint folder DIR,",
          "tensor by tensor, and writes the recipe (with its seed) as mergekit_config.yml.",
          "",
          "  --out DIR          output folder (local path or file:/s3a:/hdfs: URI); must not exist",
          "  --seed N           seed of DARE/DELLA drops (default: the recipe's random_seed, else 0)",
          "  --device cpu|gpu   where tensors are merged (default cpu)",
          "  --model NAME=PATH  where to find a model the recipe names (default: NAME is a path)",
          "  --statistics NAME=DIR  fisher.safetensors / gram.safetensors of a model, for the",
          "                     fisher and regmean methods (default: PATH/statistics)",
          "  --max-shard-size SIZE  largest safetensors shard written, e.g. 5GB (default), 500MB,",
          "                     2GiB; more than one shard adds model.safetensors.index.json",
          "  --help             this text");

  private MergeCommand() {}

  public static int run(String[] args, PrintStream out, PrintStream err) {
    String recipePath = null;
    String outDir = null;
    Long seed = null;
    String device = "cpu";
    long maxShardBytes = WriteOptions.DEFAULT_MAX_SHARD_BYTES;
    Map<String, String> locations = new LinkedHashMap<>();
    Map<String, String> statistics = new LinkedHashMap<>();
    try {
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        switch (a) {
          case "--help", "-h" -> {
            out.println(USAGE);
            return 0;
          }
          case "--out" -> outDir = Args.value(args, ++i, a);
          case "--seed" -> seed = parseSeed(Args.value(args, ++i, a));
          case "--device" -> device = Args.value(args, ++i, a).toLowerCase(Locale.ROOT);
          case "--max-shard-size" -> {
            String v = Args.value(args, ++i, a);
            maxShardBytes = WriteOptions.parseSize(v);
            if (maxShardBytes <= 0) {
              throw new IllegalArgumentException("--max-shard-size must be positive, got " + v);
            }
          }
          case "--model" -> assign(locations, a, Args.value(args, ++i, a));
          case "--statistics" -> assign(statistics, a, Args.value(args, ++i, a));
          default -> {
            if (a.startsWith("-") || recipePath != null) {
              throw new IllegalArgumentException("Unexpected argument " + a);
            }
            recipePath = a;
          }
        }
      }
      if (recipePath == null || outDir == null) {
        throw new IllegalArgumentException("Need RECIPE.yaml and --out DIR");
      }
      if (!device.equals("cpu") && !device.equals("gpu")) {
        throw new IllegalArgumentException("--device must be cpu or gpu, got " + device);
      }
    } catch (IllegalArgumentException e) {
      err.println("evomerge merge: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    try {
      String text;
      try {
        text = Files.readString(new File(recipePath).toPath(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new IllegalArgumentException("Cannot read recipe " + recipePath + ": " + e, e);
      }
      MergeRecipe recipe;
      try {
        recipe = RecipeYaml.parse(text);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("Recipe " + recipePath + ": " + e.getMessage(), e);
      }
      long effectiveSeed =
          seed != null ? seed : recipe.randomSeed() != null ? recipe.randomSeed() : 0;
      Device dev = device.equals("gpu") ? Device.gpu() : Device.cpu();
      Path target = toPath(outDir);
      ProgressLine progress = new ProgressLine(err);
      long t0 = System.nanoTime();
      MergePlan plan =
          MergeRunner.run(
              recipe,
              target,
              new Configuration(),
              new MergeRunner.Options(dev, effectiveSeed, locations, statistics, maxShardBytes),
              progress);
      progress.finish();
      out.printf(
          Locale.ROOT,
          "Merged %d tensors (%s, seed %d) into %s in %.1f s%n",
          plan.jobs().size(),
          recipe.mergeMethod(),
          effectiveSeed,
          target,
          (System.nanoTime() - t0) / 1e9);
      return 0;
    } catch (RuntimeException e) {
      err.println();
      err.println("evomerge merge: " + e.getMessage());
      return 1;
    }
  }

  private static long parseSeed(String v) {
    try {
      return Long.parseLong(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--seed must be an integer, got " + v);
    }
  }

  private static void assign(Map<String, String> into, String option, String v) {
    int eq = v.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException(option + " needs NAME=PATH, got " + v);
    }
    into.put(v.substring(0, eq), v.substring(eq + 1));
  }

  static Path toPath(String dir) {
    if (dir.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*")) {
      return new Path(dir);
    }
    return new Path(new File(dir).getAbsoluteFile().toURI());
  }

  /** A single carriage-return line: bar, count, current tensor. */
  static final class ProgressLine implements MergeRunner.Progress {
    private static final int WIDTH = 30;
    private final PrintStream err;

    ProgressLine(PrintStream err) {
      this.err = err;
    }

    @Override
    public void tensorDone(int done, int total, String tensor) {
      int filled = (int) ((long) WIDTH * done / total);
      String name = tensor.length() > 48 ? "..." + tensor.substring(tensor.length() - 45) : tensor;
      err.printf(
          Locale.ROOT,
          "\r[%s%s] %d/%d tensors %-48s",
          "#".repeat(filled),
          " ".repeat(WIDTH - filled),
          done,
          total,
          name);
      err.flush();
    }

    void finish() {
      err.println();
    }
  }
}
