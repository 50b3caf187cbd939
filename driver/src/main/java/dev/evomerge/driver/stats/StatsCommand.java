package dev.evomerge.driver.stats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import dev.evomerge.driver.cli.Args;
import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.run.Preflight;
import dev.evomerge.driver.spark.SparkSessions;
import dev.evomerge.worker.io.WriteOptions;
import dev.evomerge.worker.stats.StatisticsOptions;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.sql.SparkSession;

/**
 * {@code evomerge stats --model DIR --data FILE.jsonl [--out DIR] ...}: the Fisher and Gram
 * statistics of a model on its data, computed on Spark. Exit codes: 0 written (or already there), 1
 * the job failed, 2 bad usage.
 */
public final class StatsCommand {
  static final String USAGE =
      String.join(
          "\n",
          "usage: evomerge stats --model DIR --data FILE.jsonl [--out DIR] [--only fisher|gram]",
          "           [--max-length N] [--shards N] [--max-gram-bytes SIZE] [--gram-block N]",
          "           [--conf FILE]",
          "",
          "Computes, on Spark, the diagonal Fisher (fisher.safetensors: mean over rows of the",
          "squared gradient of the row's log-likelihood) and the Gram matrix X^T X of every linear",
          "layer's inputs (gram.safetensors: summed over tokens) of a model on its data, for the",
          "fisher and regmean merge methods. Reused when the model, data and options are unchanged.",
          "",
          "  --model DIR        the model's folder (local path or URI)",
          "  --data FILE.jsonl  one JSON object per line with a \"text\" field",
          "  --out DIR          where the statistics go (default: DIR/statistics, where",
          "                     evomerge merge looks)",
          "  --only fisher|gram compute one of the two (default both)",
          "  --max-length N     tokens per row, BOS included (default 512)",
          "  --shards N         Spark partitions the rows are split over (default 4)",
          "  --max-gram-bytes SIZE  bound on the F32 Gram matrices of the model (default 8GiB)",
          "  --gram-block N     keep only the N x N diagonal blocks of the Gram matrix of a layer",
          "                     with more than N inputs (4 d_in N bytes instead of 4 d_in^2;",
          "                     N must divide its input size); default 0, full matrices",
          "  --conf FILE        run config whose spark.* settings are used (default: defaults)",
          "  --help             this text");

  private static final ObjectMapper JSON = new ObjectMapper();

  private StatsCommand() {}

  public static int run(String[] args, PrintStream out, PrintStream err) {
    String model = null;
    String data = null;
    String outDir = null;
    String only = null;
    String conf = null;
    int maxLength = 512;
    int shards = 4;
    long maxGramBytes = StatisticsOptions.DEFAULT_MAX_GRAM_BYTES;
    int gramBlock = 0;
    StatisticsOptions options;
    try {
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        switch (a) {
          case "--help", "-h" -> {
            out.println(USAGE);
            return 0;
          }
          case "--model" -> model = Args.value(args, ++i, a);
          case "--data" -> data = Args.value(args, ++i, a);
          case "--out" -> outDir = Args.value(args, ++i, a);
          case "--only" -> only = Args.value(args, ++i, a).toLowerCase(Locale.ROOT);
          case "--conf" -> conf = Args.value(args, ++i, a);
          case "--max-length" -> maxLength = Args.positiveInt(Args.value(args, ++i, a), a);
          case "--shards" -> shards = Args.positiveInt(Args.value(args, ++i, a), a);
          case "--gram-block" -> gramBlock = Args.positiveInt(Args.value(args, ++i, a), a);
          case "--max-gram-bytes" -> {
            String v = Args.value(args, ++i, a);
            maxGramBytes = WriteOptions.parseSize(v);
            if (maxGramBytes <= 0) {
              throw new IllegalArgumentException("--max-gram-bytes must be positive, got " + v);
            }
          }
          default -> throw new IllegalArgumentException("Unexpected argument " + a);
        }
      }
      if (model == null || data == null) {
        throw new IllegalArgumentException("Need --model DIR and --data FILE.jsonl");
      }
      if (only != null && !only.equals("fisher") && !only.equals("gram")) {
        throw new IllegalArgumentException("--only must be fisher or gram, got " + only);
      }
      if (maxLength < 2) {
        throw new IllegalArgumentException("--max-length must be at least 2, got " + maxLength);
      }
      options =
          new StatisticsOptions(
              only == null || only.equals("fisher"),
              only == null || only.equals("gram"),
              maxLength,
              maxGramBytes,
              gramBlock);
    } catch (IllegalArgumentException e) {
      err.println("evomerge stats: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    try {
      List<String> texts = readTexts(data);
      Map<String, String> spark = sparkSettings(conf);
      Map<String, String> hadoop = Preflight.hadoopConf(spark);
      StatisticsJob.Source source =
          new StatisticsJob.Source(
              "model",
              Preflight.toUri(model),
              outDir == null ? null : Preflight.toUri(outDir),
              texts);
      boolean ownSession = SparkSession.getDefaultSession().isEmpty();
      SparkSession session = SparkSessions.getOrCreate(spark);
      long t0 = System.nanoTime();
      List<StatisticsJob.Outcome> outcomes;
      try {
        outcomes = StatisticsJob.run(session, List.of(source), options, hadoop, shards);
      } finally {
        if (ownSession) {
          session.stop();
        }
      }
      for (StatisticsJob.Outcome o : outcomes) {
        out.printf(
            Locale.ROOT,
            "%s statistics of %d rows (%d tokens) in %s%s%n",
            o.cached() ? "Reused" : "Wrote",
            o.sequences(),
            o.tokens(),
            o.folder(),
            o.cached()
                ? ""
                : String.format(Locale.ROOT, " in %.1f s", (System.nanoTime() - t0) / 1e9));
      }
      return 0;
    } catch (RuntimeException e) {
      err.println("evomerge stats: " + e.getMessage());
      return 1;
    }
  }

  /** The {@code spark.*} settings of {@code file} (may be null) over the defaults. */
  private static Map<String, String> sparkSettings(String file) {
    Config user = ConfigFactory.empty();
    if (file != null) {
      if (!new File(file).isFile()) {
        throw new IllegalArgumentException("Config file " + file + " does not exist");
      }
      try {
        user = ConfigFactory.parseFile(new File(file));
      } catch (ConfigException e) {
        throw new IllegalArgumentException(
            "Invalid config file " + file + ": " + e.getMessage(), e);
      }
    }
    return ConfigLoader.sparkSettings(user.withFallback(ConfigLoader.reference()).resolve());
  }

  /** The {@code text} field of every non-blank line. */
  public static List<String> readTexts(String file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(new File(file).toPath(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("Cannot read data " + file + ": " + e, e);
    }
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).isBlank()) {
        continue;
      }
      JsonNode row;
      try {
        row = JSON.readTree(lines.get(i));
      } catch (IOException e) {
        throw new IllegalArgumentException("Malformed JSON at " + file + ":" + (i + 1), e);
      }
      JsonNode text = row.get("text");
      if (text == null || !text.isTextual()) {
        throw new IllegalArgumentException(
            "Row at " + file + ":" + (i + 1) + " needs a string field text");
      }
      texts.add(text.asText());
    }
    if (texts.isEmpty()) {
      throw new IllegalArgumentException("No rows in data " + file);
    }
    return texts;
  }
}
