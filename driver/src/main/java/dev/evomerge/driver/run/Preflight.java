package dev.evomerge.driver.run;

import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.worker.eval.CandidateParams;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.TaskRow;
import dev.evomerge.worker.io.CheckpointException;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.ModelCompatibility;
import dev.evomerge.worker.io.TensorInfo;
import dev.evomerge.worker.merge.MergeMethod;
import dev.evomerge.worker.merge.MergeMethods;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.ModelConfigException;
import dev.evomerge.worker.score.FitnessFunction;
import dev.evomerge.worker.score.TaskData;
import dev.evomerge.worker.score.TaskExample;
import dev.evomerge.worker.score.TaskKind;
import dev.evomerge.worker.score.TaskSpec;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Everything that can be checked on the driver before Spark starts: every source opens and has the
 * same tensors as the first, the architecture is one the runtime evaluates, the tokenizer and the
 * dev set exist and parse. Reads only JSON and safetensors headers.
 */
public final class Preflight {
  private Preflight() {}

  /**
   * What a checked run needs; {@code testRows} is empty and {@code testFitness} null when no
   * held-out data is configured.
   */
  public record CheckedRun(
      EvalSpec spec,
      List<TaskRow> rows,
      FitnessFunction fitness,
      List<TaskRow> testRows,
      FitnessFunction testFitness,
      LlamaConfig modelConfig,
      Configuration hadoopConf) {}

  public static CheckedRun check(RunSettings settings) {
    Map<String, String> hadoop = hadoopConf(settings.spark());
    Configuration conf = new Configuration();
    hadoop.forEach(conf::set);

    List<String> uris = new ArrayList<>();
    List<HfModelFolder> folders = new ArrayList<>();
    for (String source : settings.sources()) {
      String uri = toUri(source);
      uris.add(uri);
      folders.add(open(uri, conf));
    }
    HfModelFolder first = folders.get(0);
    LlamaConfig config;
    try {
      config = LlamaConfig.parse(first.config(), first.uri() + "/config.json");
    } catch (ModelConfigException e) {
      throw new RunError(e.getMessage(), e);
    }
    checkExpectedTensors(first, config);
    String baseUri = settings.base() == null ? null : toUri(settings.base());
    List<HfModelFolder> all = new ArrayList<>(folders);
    if (baseUri != null) {
      all.add(open(baseUri, conf));
    }
    try {
      ModelCompatibility.check(all); // headers only: names, shapes, vocab, layers
    } catch (CheckpointException e) {
      throw new RunError(e.getMessage() + " (evomerge.models.sources, evomerge.models.base)", e);
    }

    String tokenizerFolder =
        settings.tokenizerSource() == null ? uris.get(0) : toUri(settings.tokenizerSource());
    Path tokenizer = new Path(tokenizerFolder, HfModelFolder.TOKENIZER);
    try {
      if (!tokenizer.getFileSystem(conf).exists(tokenizer)) {
        throw new RunError(
            String.format(
                "No %s in %s (evomerge.models.tokenizer-source)",
                HfModelFolder.TOKENIZER, tokenizerFolder));
      }
    } catch (IOException e) {
      throw new RunError("Cannot check tokenizer " + tokenizer, e);
    }

    GenerationLoop.newSearch(settings); // strategy name and options checked before Spark starts

    List<TaskSpec> tasks =
        tasks(settings.eval().devSet(), "dev", settings.eval().tasks(), "evomerge.eval.tasks");
    FitnessFunction fitness = fitness(tasks, "evomerge.eval.tasks");
    List<TaskRow> rows = rows(tasks, conf);
    List<TaskSpec> testTasks =
        tasks(
            settings.eval().testSet(),
            "test",
            settings.eval().testTasks(),
            "evomerge.eval.test-tasks");
    FitnessFunction testFitness =
        testTasks.isEmpty() ? null : fitness(testTasks, "evomerge.eval.test-tasks");
    List<TaskRow> testRows = rows(testTasks, conf);

    EvalSpec spec =
        new EvalSpec(
            uris,
            baseUri,
            all.stream().map(HfModelFolder::versionKey).toList(),
            tokenizer.toString(),
            settings.mergeMethod(),
            settings.genes(),
            settings.mergeParameters(),
            settings.seed(),
            tasks,
            settings.eval().maxLength(),
            settings.eval().batchSize(),
            hadoop);
    checkMergeParameters(spec);
    return new CheckedRun(
        spec, List.copyOf(rows), fitness, List.copyOf(testRows), testFitness, config, conf);
  }

  /** The method, its genes and fixed parameters, checked on one genome before any tensor. */
  private static void checkMergeParameters(EvalSpec spec) {
    MergeMethod method = MergeMethods.get(spec.method());
    if (method.baseUse() == MergeMethod.BaseUse.REQUIRED && spec.baseUri() == null) {
      throw new RunError(
          "Merge method " + spec.method() + " needs a base model: set evomerge.models.base");
    }
    if (!method.statistics().isEmpty()) {
      throw new RunError(
          "Merge method "
              + spec.method()
              + " needs per-model statistics, which the search does not read yet:"
              + " use it with evomerge merge (evomerge.merge.method)");
    }
    double[] probe = new double[spec.genomeLength()];
    java.util.Arrays.fill(probe, 0.5);
    try {
      new CandidateParams(spec, probe);
    } catch (IllegalArgumentException e) {
      throw new RunError(e.getMessage() + " (evomerge.merge.genes, evomerge.merge.parameters)", e);
    }
  }

  /** Configured tasks, the loglik shorthand first, with data paths made absolute URIs. */
  static List<TaskSpec> tasks(
      String shorthand, String shorthandName, List<Map<String, Object>> configured, String key) {
    List<TaskSpec> out = new ArrayList<>();
    if (shorthand != null) {
      out.add(TaskSpec.of(shorthandName, toUri(shorthand), TaskKind.LOGLIK, 1.0));
    }
    for (int i = 0; i < configured.size(); i++) {
      Map<String, Object> m = new LinkedHashMap<>(configured.get(i));
      if (m.get("data") instanceof String data) {
        m.put("data", toUri(data));
      }
      String where = key + "[" + i + "]";
      try {
        out.add(TaskSpec.fromMap(m, where));
      } catch (IllegalArgumentException e) {
        throw new RunError(e.getMessage() + " (" + where + ")", e);
      }
    }
    return out;
  }

  private static FitnessFunction fitness(List<TaskSpec> tasks, String key) {
    try {
      return new FitnessFunction(tasks);
    } catch (IllegalArgumentException e) {
      throw new RunError(e.getMessage() + " (" + key + ")", e);
    }
  }

  /** Every task's rows, read and checked here, before any cluster work. */
  private static List<TaskRow> rows(List<TaskSpec> tasks, Configuration conf) {
    List<TaskRow> rows = new ArrayList<>();
    for (TaskSpec task : tasks) {
      List<TaskExample> examples;
      try {
        examples = TaskData.read(task, conf);
      } catch (RuntimeException e) {
        throw new RunError(String.format("Task %s: %s", task.name(), e.getMessage()), e);
      }
      if (examples.isEmpty()) {
        throw new RunError(String.format("Task %s: %s has no rows", task.name(), task.data()));
      }
      examples.forEach(x -> rows.add(new TaskRow(task.name(), x)));
    }
    return rows;
  }

  /** {@code spark.hadoop.*} settings with the prefix removed, as Spark passes them to Hadoop. */
  static Map<String, String> hadoopConf(Map<String, String> spark) {
    Map<String, String> out = new LinkedHashMap<>();
    spark.forEach(
        (k, v) -> {
          if (k.startsWith("spark.hadoop.")) {
            out.put(k.substring("spark.hadoop.".length()), v);
          }
        });
    return out;
  }

  /** A URI as is; a plain path made absolute against the working directory. */
  public static String toUri(String pathOrUri) {
    if (pathOrUri.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*")) {
      return pathOrUri;
    }
    return new Path(new File(pathOrUri).getAbsoluteFile().toURI()).toString();
  }

  private static HfModelFolder open(String uri, Configuration conf) {
    try {
      return HfModelFolder.open(uri, conf);
    } catch (CheckpointException e) {
      String cause = e.getCause() == null ? "" : ": " + e.getCause().getMessage();
      throw new RunError(e.getMessage() + cause + " (evomerge.models.sources)", e);
    }
  }

  private static void checkExpectedTensors(HfModelFolder model, LlamaConfig config) {
    for (LlamaConfig.TensorShape t : config.expectedTensors()) {
      TensorInfo info = model.tensors().get(t.name());
      if (info == null) {
        throw new RunError(String.format("Model %s has no tensor %s", model.uri(), t.name()));
      }
      if (!Arrays.equals(info.shape(), t.shape())) {
        throw new RunError(
            String.format(
                "Tensor %s of model %s has shape %s but its config.json implies %s",
                t.name(), model.uri(), Arrays.toString(info.shape()), Arrays.toString(t.shape())));
      }
      if (!info.dtype().isFloatingPoint()) {
        throw new RunError(
            String.format(
                "Tensor %s of model %s has dtype %s; merging needs floating point",
                t.name(), model.uri(), info.dtype()));
      }
    }
  }
}
