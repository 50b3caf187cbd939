package dev.evomerge.driver.score;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueType;
import dev.evomerge.driver.cli.Args;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.model.LanguageModel;
import dev.evomerge.worker.model.LayerPathModel;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.ModelWeights;
import dev.evomerge.worker.score.BatchSizing;
import dev.evomerge.worker.score.ExampleResult;
import dev.evomerge.worker.score.FitnessFunction;
import dev.evomerge.worker.score.TaskData;
import dev.evomerge.worker.score.TaskExample;
import dev.evomerge.worker.score.TaskPartial;
import dev.evomerge.worker.score.TaskResult;
import dev.evomerge.worker.score.TaskScorer;
import dev.evomerge.worker.score.TaskSpec;
import dev.evomerge.worker.score.TextTokenizer;
import java.io.File;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * {@code evomerge score --model DIR --task FILE... [--json]}: scores one model folder on dev tasks
 * and prints per-task metrics and the fitness (per-row results too with {@code --json}).
 */
public final class ScoreCommand {
  static final String USAGE =
      """
      usage: evomerge score --model DIR --task FILE [--task FILE ...] [--json]
                            [--batch-size N] [--max-length N]

      Scores the Hugging Face model folder DIR (Llama, Mistral or Qwen2; path or URI) on dev
      tasks. Each FILE is HOCON or JSON: one task, or {tasks = [...]}, with keys name, data
      (JSONL; relative to the file), kind (loglik | multiple_choice | generate | classify),
      metric, direction (higher | lower), weight, and per kind max_new_tokens, stop,
      answer_regex, match (exact | numeric), verbalizers, target_delimiter.
      Prints each task's metrics and the weighted fitness; --json prints one JSON object with
      per-row results. The batch size defaults to what a quarter of free memory holds
      at each task's longest sequence (at most the max length, default 2048 tokens).""";

  private static final ObjectMapper JSON = new ObjectMapper();

  private ScoreCommand() {}

  /** Returns the exit code: 0 ok, 1 scoring failed, 2 bad input. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    String model = null;
    List<String> taskFiles = new ArrayList<>();
    boolean json = false;
    int batchSize = 0;
    int maxLength = 2048;
    try {
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        switch (a) {
          case "--help", "-h" -> {
            out.println(USAGE);
            return 0;
          }
          case "--json" -> json = true;
          case "--model" -> model = Args.value(args, ++i, a);
          case "--task" -> taskFiles.add(Args.value(args, ++i, a));
          case "--batch-size" -> batchSize = Args.positiveInt(Args.value(args, ++i, a), a);
          case "--max-length" -> maxLength = Args.positiveInt(Args.value(args, ++i, a), a);
          default -> throw new IllegalArgumentException("unknown option '" + a + "'");
        }
      }
      if (model == null || taskFiles.isEmpty()) {
        throw new IllegalArgumentException("--model DIR and at least one --task FILE are required");
      }
    } catch (IllegalArgumentException e) {
      err.println("evomerge score: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    List<TaskSpec> tasks = new ArrayList<>();
    try {
      for (String f : taskFiles) {
        tasks.addAll(readTasks(new File(f)));
      }
      FitnessFunction fitness = new FitnessFunction(tasks);
      Configuration conf = new Configuration();
      Map<String, List<TaskExample>> rows = new LinkedHashMap<>();
      for (TaskSpec t : tasks) {
        rows.put(t.name(), TaskData.read(t, conf));
      }
      Map<String, TaskResult> results = score(model, conf, tasks, rows, batchSize, maxLength);
      Map<String, TaskPartial> partials = new LinkedHashMap<>();
      results.forEach((k, v) -> partials.put(k, v.partial()));
      double f = fitness.fitness(partials);
      if (json) {
        out.println(
            JSON.writerWithDefaultPrettyPrinter()
                .writeValueAsString(toJson(model, tasks, results, f)));
      } else {
        for (TaskSpec t : tasks) {
          TaskPartial p = partials.get(t.name());
          StringBuilder line = new StringBuilder();
          line.append(
              String.format(
                  Locale.ROOT,
                  "%-20s %-16s n=%-6d",
                  t.name(),
                  t.kind().configName(),
                  p.examples()));
          for (String m : t.kind().metrics()) {
            line.append(String.format(Locale.ROOT, " %s=%.6g", m, p.metric(m)));
          }
          line.append(
              String.format(
                  Locale.ROOT,
                  "  [fitness uses %s, %s, weight %s; %.2f s]",
                  t.metric(),
                  t.direction().name().toLowerCase(Locale.ROOT),
                  t.weight(),
                  p.nanos() / 1e9));
          out.println(line);
        }
        out.println(String.format(Locale.ROOT, "fitness %.6g", f));
      }
      return 0;
    } catch (IllegalArgumentException | ConfigException e) {
      err.println("evomerge score: " + e.getMessage());
      return 2;
    } catch (RuntimeException | java.io.IOException e) {
      err.println("evomerge score: " + e.getMessage());
      return 1;
    }
  }

  private static Map<String, TaskResult> score(
      String modelUri,
      Configuration conf,
      List<TaskSpec> tasks,
      Map<String, List<TaskExample>> rows,
      int batchSize,
      int maxLength)
      throws java.io.IOException {
    HfModelFolder folder = HfModelFolder.open(modelUri, conf);
    LlamaConfig config = ModelWeights.config(folder);
    Map<String, TaskResult> out = new LinkedHashMap<>();
    try (NDManager manager = NDManager.newBaseManager(Device.cpu());
        TextTokenizer tokenizer = TextTokenizer.load(folder.folder(), conf, config)) {
      Map<String, NDArray> weights = ModelWeights.load(folder, config, manager);
      // a layer-path export records its per-layer scales in config.json
      LanguageModel model =
          LayerPathModel.of(config, weights, folder.config(), folder.uri() + "/config.json");
      for (TaskSpec t : tasks) {
        TaskScorer.PreparedTask prepared =
            TaskScorer.prepare(tokenizer, t, rows.get(t.name()), maxLength);
        // automatic: what free memory holds at this task's longest sequence
        int batch =
            batchSize > 0
                ? batchSize
                : BatchSizing.automatic(config, Math.min(maxLength, prepared.longestSequence()));
        try (NDScope scope = new NDScope()) {
          scope.suppressNotUsedWarning();
          out.put(t.name(), TaskScorer.score(model, manager, tokenizer, prepared, batch));
        }
      }
    }
    return out;
  }

  /** Tasks of one file: the root is a task, or has a {@code tasks} list. */
  static List<TaskSpec> readTasks(File file) {
    if (!file.isFile()) {
      throw new IllegalArgumentException("Task file " + file + " does not exist");
    }
    Config root = ConfigFactory.parseFile(file).resolve();
    List<Map<String, Object>> maps = new ArrayList<>();
    if (root.hasPath("tasks") && root.getValue("tasks").valueType() == ConfigValueType.LIST) {
      for (Config c : root.getConfigList("tasks")) {
        maps.add(c.root().unwrapped());
      }
    } else {
      maps.add(root.root().unwrapped());
    }
    List<TaskSpec> out = new ArrayList<>();
    for (Map<String, Object> m : maps) {
      Map<String, Object> copy = new LinkedHashMap<>(m);
      Object data = copy.get("data");
      if (data != null
          && !new Path(data.toString()).isAbsolute()
          && !data.toString().contains(":")) {
        copy.put(
            "data", new File(file.getAbsoluteFile().getParentFile(), data.toString()).getPath());
      }
      out.add(TaskSpec.fromMap(copy, file.getPath()));
    }
    return out;
  }

  private static ObjectNode toJson(
      String model, List<TaskSpec> tasks, Map<String, TaskResult> results, double fitness) {
    ObjectNode root = JSON.createObjectNode();
    root.put("model", model);
    root.put("fitness", fitness);
    ArrayNode arr = root.putArray("tasks");
    for (TaskSpec t : tasks) {
      TaskResult r = results.get(t.name());
      ObjectNode n = arr.addObject();
      n.put("name", t.name());
      n.put("kind", t.kind().configName());
      n.put("metric", t.metric());
      n.put("direction", t.direction().name().toLowerCase(Locale.ROOT));
      n.put("weight", t.weight());
      n.put("examples", r.partial().examples());
      n.put("seconds", r.partial().nanos() / 1e9);
      ObjectNode metrics = n.putObject("metrics");
      for (String m : t.kind().metrics()) {
        metrics.put(m, r.partial().metric(m));
      }
      ArrayNode rows = n.putArray("rows");
      for (ExampleResult e : r.examples()) {
        ObjectNode row =
            rows.addObject()
                .put("index", e.index())
                .put("score", e.score())
                .put("correct", e.correct())
                .put("prediction", e.prediction());
        switch (t.kind()) {
          case LOGLIK -> row.put("tokens", e.tokens());
          case MULTIPLE_CHOICE -> row.put("correct_norm", e.correctNorm());
          default -> {}
        }
      }
    }
    return root;
  }
}
