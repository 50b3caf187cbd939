package dev.evomerge.driver.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import dev.evomerge.driver.search.Names;
import dev.evomerge.driver.search.Strategies;
import dev.evomerge.worker.io.WriteOptions;
import dev.evomerge.worker.merge.MergeMethods;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads a run's configuration: {@code reference.conf} (every key, documented), then the user's
 * file, then {@code -Devomerge.*} system properties, then {@code --set key=value} overrides.
 *
 * <p>Every key a user sets outside {@code spark.*} must exist in {@code reference.conf}; a typo is
 * an error naming the key, where it was set, and the nearest known key.
 */
public final class ConfigLoader {
  private static final Set<String> OUT_DTYPES = Set.of("float32", "float16", "bfloat16");

  private ConfigLoader() {}

  /** The {@code spark.*} settings of a resolved config, flattened to Spark's keys. */
  public static Map<String, String> sparkSettings(Config c) {
    Map<String, String> spark = new TreeMap<>();
    for (Map.Entry<String, ConfigValue> e : c.entrySet()) {
      String key = String.join(".", ConfigUtil.splitPath(e.getKey()));
      if (key.startsWith("spark.") && e.getValue().valueType() != ConfigValueType.NULL) {
        spark.put(key, String.valueOf(e.getValue().unwrapped()));
      }
    }
    return spark;
  }

  /** The documented defaults. */
  public static Config reference() {
    try {
      Enumeration<URL> urls = ConfigLoader.class.getClassLoader().getResources("reference.conf");
      for (URL url : Collections.list(urls)) {
        try (InputStream in = url.openStream()) {
          String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
          if (text.contains("evomerge {")) {
            return ConfigFactory.parseString(
                text, ConfigParseOptions.defaults().setOriginDescription("reference.conf"));
          }
        }
      }
    } catch (IOException e) {
      throw new ConfigError("Cannot read evomerge's reference.conf", e);
    }
    throw new ConfigError("evomerge's reference.conf is not on the classpath");
  }

  /**
   * Loads and validates the settings.
   *
   * @param file the user's config file, or null for defaults only
   * @param overrides {@code key=value} pairs (HOCON values), highest precedence
   */
  public static RunSettings load(File file, List<String> overrides) {
    Config reference = reference();
    Config user = ConfigFactory.empty();
    if (file != null) {
      if (!file.isFile()) {
        throw new ConfigError("Config file " + file + " does not exist");
      }
      try {
        user = ConfigFactory.parseFile(file, ConfigParseOptions.defaults().setAllowMissing(false));
      } catch (ConfigException e) {
        throw new ConfigError("Invalid config file " + file + ": " + e.getMessage(), e);
      }
    }
    return load(reference, user, overrides);
  }

  /**
   * Loads and validates the settings from HOCON {@code text} (a run folder's {@code config.conf}
   * read from any filesystem), named {@code origin} in errors.
   */
  public static RunSettings load(String text, String origin, List<String> overrides) {
    Config user;
    try {
      user =
          ConfigFactory.parseString(
              text, ConfigParseOptions.defaults().setOriginDescription(origin));
    } catch (ConfigException e) {
      throw new ConfigError("Invalid config file " + origin + ": " + e.getMessage(), e);
    }
    return load(reference(), user, overrides);
  }

  /**
   * The {@code spark.hadoop.*} settings among {@code --set} overrides, prefix removed: what a
   * command needs to reach a run folder (S3A endpoint, credentials) before it reads its config.
   */
  public static Map<String, String> hadoopOverrides(List<String> overrides) {
    Map<String, String> out = new TreeMap<>();
    for (String override : overrides) {
      for (Map.Entry<String, ConfigValue> e : parseOverride(override).entrySet()) {
        String key = String.join(".", ConfigUtil.splitPath(e.getKey()));
        if (key.startsWith("spark.hadoop.")) {
          out.put(
              key.substring("spark.hadoop.".length()), String.valueOf(e.getValue().unwrapped()));
        }
      }
    }
    return out;
  }

  private static RunSettings load(Config reference, Config user, List<String> overrides) {
    Config system = ConfigFactory.empty();
    Config props = ConfigFactory.systemProperties();
    if (props.hasPath("evomerge")) {
      system = props.withOnlyPath("evomerge");
    }
    Config sets = ConfigFactory.empty();
    for (String override : overrides) {
      sets = parseOverride(override).withFallback(sets);
    }
    for (Config layer : List.of(user, system, sets)) {
      checkKnownKeys(layer, reference);
    }
    Config merged;
    try {
      merged = sets.withFallback(system).withFallback(user).withFallback(reference).resolve();
    } catch (ConfigException e) {
      throw new ConfigError("Invalid config: " + e.getMessage(), e);
    }
    try {
      return settings(merged);
    } catch (ConfigException e) {
      throw new ConfigError("Invalid config: " + e.getMessage(), e);
    }
  }

  private static Config parseOverride(String override) {
    int eq = override.indexOf('=');
    if (eq <= 0) {
      throw new ConfigError("Invalid --set " + override + ": expected key=value");
    }
    String key = override.substring(0, eq).trim();
    String value = override.substring(eq + 1).trim();
    try {
      ConfigUtil.splitPath(key);
      return ConfigFactory.parseString(
          key + " = " + (value.isEmpty() ? "\"\"" : value),
          ConfigParseOptions.defaults().setOriginDescription("--set " + key));
    } catch (ConfigException e) {
      // not valid HOCON as written: take the value as a plain string
      return ConfigFactory.parseString(
          key + " = " + ConfigUtil.quoteString(value),
          ConfigParseOptions.defaults().setOriginDescription("--set " + key));
    }
  }

  static void checkKnownKeys(Config layer, Config reference) {
    for (Map.Entry<String, ConfigValue> e : layer.entrySet()) {
      List<String> parts = ConfigUtil.splitPath(e.getKey());
      String joined = String.join(".", parts);
      if (parts.get(0).equals("spark")
          || joined.startsWith("spark.")
          || joined.startsWith("evomerge.search.options.")
          || joined.startsWith("evomerge.merge.parameters.")
          || joined.startsWith("evomerge.search.final-merge-parameters.")) {
        // passed through: Spark's keys to Spark, strategy options to the strategy's own checks
        continue;
      }
      String where = e.getValue().origin().description();
      if (!reference.hasPathOrNull(e.getKey())) {
        throw new ConfigError(
            String.format(
                "Unknown config key '%s' (%s)%s", joined, where, suggestion(joined, reference)));
      }
      if (reference.hasPath(e.getKey())
          && reference.getValue(e.getKey()).valueType() == ConfigValueType.OBJECT
          && e.getValue().valueType() != ConfigValueType.OBJECT) {
        throw new ConfigError(
            String.format("Config key '%s' (%s) must be an object of settings", joined, where));
      }
    }
  }

  private static String nearest(String value, java.util.Collection<String> names) {
    String best = Names.nearest(value, names);
    return best != null && Names.distance(value, best) <= 3 ? "; did you mean '" + best + "'?" : "";
  }

  private static String suggestion(String key, Config reference) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (Map.Entry<String, ConfigValue> e : reference.entrySet()) {
      int d = Names.distance(key, e.getKey());
      if (d < bestDistance) {
        bestDistance = d;
        best = e.getKey();
      }
    }
    for (String nullKey :
        List.of(
            "evomerge.models.tokenizer-source",
            "evomerge.models.base",
            "evomerge.eval.dev-set",
            "evomerge.eval.test-set")) {
      int d = Names.distance(key, nullKey);
      if (d < bestDistance) {
        bestDistance = d;
        best = nullKey;
      }
    }
    return best != null && bestDistance <= Math.max(3, key.length() / 4)
        ? "; did you mean '" + best + "'?"
        : "";
  }

  private static RunSettings settings(Config c) {
    String method = c.getString("evomerge.merge.method");
    check(
        c,
        MergeMethods.names().contains(method),
        "evomerge.merge.method",
        "must be one of " + MergeMethods.names() + nearest(method, MergeMethods.names()));
    List<String> genes = c.getStringList("evomerge.merge.genes");
    check(c, !genes.isEmpty(), "evomerge.merge.genes", "must name at least one parameter");
    int layerGroups = c.getInt("evomerge.merge.layer-groups");
    check(c, layerGroups >= 1, "evomerge.merge.layer-groups", "must be at least 1");
    List<String> filters = c.getStringList("evomerge.merge.filters");
    check(
        c,
        filters.stream().noneMatch(String::isEmpty),
        "evomerge.merge.filters",
        "must not contain an empty name pattern");
    check(
        c,
        filters.stream().distinct().count() == filters.size(),
        "evomerge.merge.filters",
        "names a pattern twice");
    boolean softmax = c.getBoolean("evomerge.merge.softmax");
    check(
        c,
        !softmax || genes.contains("weight"),
        "evomerge.merge.softmax",
        "needs weight among evomerge.merge.genes (softmax normalises the weights)");
    String strategy = c.getString("evomerge.search.strategy");
    check(
        c,
        Strategies.NAMES.contains(strategy),
        "evomerge.search.strategy",
        "must be one of " + Strategies.NAMES);
    String outDtype = c.getString("evomerge.merge.out-dtype");
    check(
        c,
        OUT_DTYPES.contains(outDtype),
        "evomerge.merge.out-dtype",
        "must be one of " + OUT_DTYPES);
    long maxShardBytes = shardSize(c, "evomerge.merge.max-shard-size");

    int generations = c.getInt("evomerge.run.generations");
    check(c, generations > 0, "evomerge.run.generations", "must be positive");
    List<String> sources = c.getStringList("evomerge.models.sources");
    check(c, sources.size() >= 2, "evomerge.models.sources", "must list at least two models");
    List<Map<String, Object>> tasks = taskList(c, "evomerge.eval.tasks");
    List<Map<String, Object>> testTasks = taskList(c, "evomerge.eval.test-tasks");
    check(
        c,
        !c.getIsNull("evomerge.eval.dev-set") || !tasks.isEmpty(),
        "evomerge.eval.dev-set",
        "must be set (or evomerge.eval.tasks)");

    double lower = c.getDouble("evomerge.search.lower");
    double upper = c.getDouble("evomerge.search.upper");
    check(c, lower < upper, "evomerge.search.upper", "must be greater than evomerge.search.lower");
    long maxEvaluations = c.getLong("evomerge.search.max-evaluations");
    check(c, maxEvaluations >= 0, "evomerge.search.max-evaluations", "must not be negative");
    int plateau = c.getInt("evomerge.search.plateau-generations");
    check(c, plateau >= 0, "evomerge.search.plateau-generations", "must not be negative");
    double plateauThreshold = c.getDouble("evomerge.search.plateau-threshold");
    check(c, plateauThreshold >= 0, "evomerge.search.plateau-threshold", "must not be negative");

    int shards = c.getInt("evomerge.eval.shards");
    check(c, shards > 0, "evomerge.eval.shards", "must be positive");
    int maxLength = c.getInt("evomerge.eval.max-length");
    check(c, maxLength >= 2, "evomerge.eval.max-length", "must be at least 2");
    double gpusPerTask = c.getDouble("evomerge.eval.gpus-per-task");
    check(c, gpusPerTask >= 0, "evomerge.eval.gpus-per-task", "must not be negative");
    int batchSize = batchSize(c, "evomerge.eval.batch-size");

    Map<String, String> spark = sparkSettings(c);
    return new RunSettings(
        c.getString("evomerge.run.name"),
        c.getString("evomerge.run.output-root"),
        c.getLong("evomerge.run.seed"),
        generations,
        new ArrayList<>(sources),
        c.getIsNull("evomerge.models.base") ? null : c.getString("evomerge.models.base"),
        c.getIsNull("evomerge.models.tokenizer-source")
            ? null
            : c.getString("evomerge.models.tokenizer-source"),
        method,
        genes,
        c.getObject("evomerge.merge.parameters").unwrapped(),
        outDtype,
        new RunSettings.SearchSettings(
            strategy,
            c.getObject("evomerge.search.options").unwrapped(),
            lower,
            upper,
            c.getBoolean("evomerge.search.seed-with-sources"),
            maxEvaluations,
            plateau,
            plateauThreshold),
        new RunSettings.EvalSettings(
            c.getIsNull("evomerge.eval.dev-set") ? null : c.getString("evomerge.eval.dev-set"),
            tasks,
            c.getIsNull("evomerge.eval.test-set") ? null : c.getString("evomerge.eval.test-set"),
            testTasks,
            shards,
            maxLength,
            batchSize,
            gpusPerTask),
        spark,
        render(c),
        c.getBoolean("evomerge.run.record-examples"),
        new RunSettings.LayoutSettings(layerGroups, filters, softmax),
        dataFlow(c, sources.size()),
        maxShardBytes,
        finalMerge(c, strategy, sources.size()));
  }

  /** {@code evomerge.search.final-merge}, its parameters and {@code evomerge.statistics.*}. */
  private static RunSettings.FinalMergeSettings finalMerge(Config c, String strategy, int sources) {
    String key = "evomerge.search.final-merge";
    List<String> methods = List.of("none", "average", "fisher", "regmean");
    String method = c.getString(key);
    check(c, methods.contains(method), key, "must be one of " + methods + nearest(method, methods));
    check(
        c,
        !strategy.equals("evolver") || !method.equals("none"),
        key,
        "must be average, fisher or regmean with evomerge.search.strategy = evolver (the merge of"
            + " its population)");
    check(
        c,
        strategy.equals("evolver") || method.equals("none"),
        key,
        "merges an Evolver population: it needs evomerge.search.strategy = evolver (got "
            + strategy
            + ")");
    String p = "evomerge.statistics.";
    List<String> data = c.getStringList(p + "data");
    check(
        c,
        data.isEmpty() || data.size() == sources,
        p + "data",
        "must list one file per source ("
            + sources
            + " in evomerge.models.sources), or be empty for each source's train.jsonl");
    int maxRows = c.getInt(p + "max-rows");
    check(c, maxRows >= 0, p + "max-rows", "must not be negative");
    int maxLength = c.getInt(p + "max-length");
    check(c, maxLength >= 2, p + "max-length", "must be at least 2");
    int shards = c.getInt(p + "shards");
    check(c, shards > 0, p + "shards", "must be positive");
    long maxGramBytes = c.getBytes(p + "max-gram-bytes");
    check(c, maxGramBytes > 0, p + "max-gram-bytes", "must be positive");
    int gramBlock = c.getInt(p + "gram-block");
    check(c, gramBlock >= 0, p + "gram-block", "must not be negative (0: full Gram matrices)");
    return new RunSettings.FinalMergeSettings(
        method,
        c.getObject("evomerge.search.final-merge-parameters").unwrapped(),
        data,
        maxRows,
        maxLength,
        shards,
        maxGramBytes,
        gramBlock);
  }

  /**
   * Rows per forward pass: a positive number, or {@code auto} (or 0) for 0, chosen on executors.
   */
  private static int batchSize(Config c, String key) {
    String problem = "must be a positive number of rows, or auto (or 0: chosen from free memory)";
    if (c.getValue(key).valueType() == ConfigValueType.STRING
        && c.getString(key).trim().equalsIgnoreCase("auto")) {
      return 0;
    }
    int n = -1;
    try {
      n = c.getInt(key);
    } catch (ConfigException.WrongType e) {
      check(c, false, key, problem);
    }
    check(c, n >= 0, key, problem);
    return n;
  }

  /**
   * {@code evomerge.search.dataflow.*} when {@code evomerge.search.space = dataflow}, else null.
   */
  private static RunSettings.DataFlowSettings dataFlow(Config c, int sources) {
    String space = c.getString("evomerge.search.space");
    check(
        c,
        space.equals("parameter") || space.equals("dataflow"),
        "evomerge.search.space",
        "must be parameter or dataflow");
    if (space.equals("parameter")) {
      return null;
    }
    String p = "evomerge.search.dataflow.";
    int repeats = c.getInt(p + "repeats");
    check(c, repeats >= 1, p + "repeats", "must be at least 1");
    int embedding = c.getInt(p + "embedding-model");
    check(
        c,
        embedding >= 0 && embedding < sources,
        p + "embedding-model",
        "must be the index of a source (0.." + (sources - 1) + ")");
    int head = c.getIsNull(p + "head-model") ? embedding : c.getInt(p + "head-model");
    check(
        c,
        c.getIsNull(p + "head-model") || (head >= 0 && head < sources),
        p + "head-model",
        "must be the index of a source (0.." + (sources - 1) + ")");
    int miniBatches = c.getInt(p + "mini-batches");
    check(c, miniBatches >= 1, p + "mini-batches", "must be at least 1");
    double holdout = c.getDouble(p + "holdout");
    check(c, holdout >= 0 && holdout < 1, p + "holdout", "must be in [0, 1)");
    double lower = c.getDouble(p + "scale-lower");
    double upper = c.getDouble(p + "scale-upper");
    check(c, lower < upper, p + "scale-upper", "must be greater than " + p + "scale-lower");
    return new RunSettings.DataFlowSettings(
        repeats, embedding, head, miniBatches, holdout, lower, upper);
  }

  /** Keys whose values never reach the run folder: S3A secrets, tokens, passwords. */
  static final java.util.regex.Pattern SECRET =
      java.util.regex.Pattern.compile(
          "(?i).*(secret|password|token|credential|access\\.key|session\\.key).*");

  /** The effective configuration as HOCON, secrets replaced by a marker. */
  static String render(Config c) {
    Config out =
        c.root().withOnlyKey("evomerge").withFallback(c.root().withOnlyKey("spark")).toConfig();
    for (Map.Entry<String, ConfigValue> e : out.entrySet()) {
      if (SECRET.matcher(e.getKey()).matches()) {
        out = out.withValue(e.getKey(), ConfigValueFactory.fromAnyRef("<redacted>"));
      }
    }
    return out.root()
        .render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false));
  }

  private static List<Map<String, Object>> taskList(Config c, String key) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Object t : c.getList(key).unwrapped()) {
      check(c, t instanceof Map, key, "must be a list of task objects");
      @SuppressWarnings("unchecked")
      Map<String, Object> task = (Map<String, Object>) t;
      out.add(task);
    }
    return out;
  }

  /** A size as {@code evomerge merge --max-shard-size} takes it (5GB, 500MB, 2GiB). */
  private static long shardSize(Config c, String key) {
    long bytes;
    try {
      bytes = WriteOptions.parseSize(c.getString(key));
    } catch (IllegalArgumentException | ConfigException.WrongType e) {
      bytes = -1;
    }
    check(c, bytes > 0, key, "must be a positive size such as 5GB, 500MB or 2GiB");
    return bytes;
  }

  private static void check(Config c, boolean ok, String key, String problem) {
    if (!ok) {
      String value =
          c.getIsNull(key) ? "null" : c.getValue(key).render(ConfigRenderOptions.concise());
      throw new ConfigError(
          String.format(
              "Invalid config value for '%s' (%s): %s %s",
              key,
              c.hasPath(key) ? c.getValue(key).origin().description() : "not set",
              value,
              problem));
    }
  }
}
