package dev.evomerge.driver.run;

import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.worker.eval.CandidateParams;
import dev.evomerge.worker.eval.DataFlowSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.GeneLayout;
import dev.evomerge.worker.eval.TaskRow;
import dev.evomerge.worker.io.CheckpointException;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.ModelCompatibility;
import dev.evomerge.worker.io.TensorInfo;
import dev.evomerge.worker.merge.MergeMethod;
import dev.evomerge.worker.merge.MergeMethods;
import dev.evomerge.worker.model.LayerPathModel;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.ModelConfigException;
import dev.evomerge.worker.score.FitnessFunction;
import dev.evomerge.worker.score.TaskData;
import dev.evomerge.worker.score.TaskExample;
import dev.evomerge.worker.score.TaskKind;
import dev.evomerge.worker.score.TaskSpec;
import dev.evomerge.worker.spark.ExecutorCacheSettings;
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
   * held-out data is configured. {@code frames} are the tasks (dev and held-out) whose rows a Spark
   * reader reads once Spark runs (Parquet, CSV; their columns are checked): {@code rows} and {@code
   * testRows} hold theirs only after {@link #withRows}.
   */
  public record CheckedRun(
      EvalSpec spec,
      List<TaskRow> rows,
      FitnessFunction fitness,
      List<TaskRow> testRows,
      FitnessFunction testFitness,
      LlamaConfig modelConfig,
      Configuration hadoopConf,
      List<TaskSources.FrameTask> frames) {

    /** The same run with every task's rows, the frames' included (none left to read). */
    public CheckedRun withRows(List<TaskRow> rows, List<TaskRow> testRows) {
      return new CheckedRun(
          spec,
          List.copyOf(rows),
          fitness,
          List.copyOf(testRows),
          testFitness,
          modelConfig,
          hadoopConf,
          List.of());
    }
  }

  public static CheckedRun check(RunSettings settings) {
    try {
      ExecutorCacheSettings.budgets(
          settings.spark()); // executors would fail to start on a bad size
    } catch (IllegalArgumentException e) {
      throw new RunError(e.getMessage(), e);
    }
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
    for (HfModelFolder f : folders) {
      if (f.config().path(LayerPathModel.CONFIG_KEY).has("scales")) {
        // the resident sources are plain models: the recorded scales would be dropped
        throw new RunError(
            String.format(
                "Model %s is a layer path with scales (%s.scales in its config.json); it cannot"
                    + " be a source (evomerge.models.sources)",
                f.uri(), LayerPathModel.CONFIG_KEY));
      }
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

    RunSettings.DataFlowSettings dataFlow = settings.dataFlow();
    if (dataFlow != null && baseUri != null) {
      throw new RunError(
          "evomerge.models.base is not used by a data-flow search (evomerge.search.space ="
              + " dataflow): remove it, or add the base to evomerge.models.sources");
    }
    // a data-flow search scores with the embedding model's tokenizer
    String tokenizerFolder =
        settings.tokenizerSource() != null
            ? toUri(settings.tokenizerSource())
            : uris.get(dataFlow == null ? 0 : dataFlow.embeddingModel());
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

    if (dataFlow == null) {
      GenerationLoop.newSearch(settings); // strategy name and options checked before Spark starts
    }

    List<TaskSources.FrameTask> frames = new ArrayList<>();
    List<TaskSpec> tasks =
        tasks(
            settings.eval().devSet(),
            "dev",
            settings.eval().tasks(),
            "evomerge.eval.tasks",
            "evomerge.eval.dev-set",
            frames);
    FitnessFunction fitness = fitness(tasks, "evomerge.eval.tasks");
    List<TaskSpec> testTasks =
        tasks(
            settings.eval().testSet(),
            "test",
            settings.eval().testTasks(),
            "evomerge.eval.test-tasks",
            "evomerge.eval.test-set",
            frames);
    FitnessFunction testFitness =
        testTasks.isEmpty() ? null : fitness(testTasks, "evomerge.eval.test-tasks");
    frames.forEach(f -> TaskSources.checkColumns(f, conf));
    List<TaskRow> rows = rows(tasks, frames, conf);
    List<TaskRow> testRows = rows(testTasks, frames, conf);

    EvalSpec spec =
        new EvalSpec(
                uris,
                baseUri,
                all.stream().map(HfModelFolder::versionKey).toList(),
                tokenizer.toString(),
                // a data-flow search merges nothing; its baselines are linear merges
                dataFlow == null ? settings.mergeMethod() : "linear",
                dataFlow == null ? settings.genes() : List.of("weight"),
                dataFlow == null ? settings.mergeParameters() : Map.<String, Object>of(),
                settings.seed(),
                tasks,
                settings.eval().maxLength(),
                settings.eval().batchSize(),
                hadoop)
            .toBuilder()
                .recordExamples(settings.recordExamples())
                .layout(layout(settings.layout(), first, config))
                .build();
    if (EvolverRun.enabled(settings)) {
      spec = spec.withPopulation(EvolverRun.population(settings, spec, conf));
    }
    checkMergeParameters(spec);
    if (dataFlow != null) {
      spec = spec.withDataFlow(dataFlow(dataFlow, folders, settings.seed()));
      GenerationLoop.newSearch(settings, spec); // strategy and options, before Spark starts
      checkBatches(spec.dataFlow(), tasks, rows);
    }
    return new CheckedRun(
        spec,
        List.copyOf(rows),
        fitness,
        List.copyOf(testRows),
        testFitness,
        config,
        conf,
        List.copyOf(frames));
  }

  /**
   * The genes' layout over the model, checked against its layers and tensor names.
   *
   * @throws RunError naming {@code evomerge.merge.layer-groups} or {@code .filters}
   */
  static GeneLayout layout(
      RunSettings.LayoutSettings settings, HfModelFolder model, LlamaConfig config) {
    if (settings.layerGroups() > config.numLayers()) {
      throw new RunError(
          String.format(
              "Invalid evomerge.merge.layer-groups = %d: model %s has %d layers",
              settings.layerGroups(), model.uri(), config.numLayers()));
    }
    for (String filter : settings.filters()) {
      if (model.tensors().keySet().stream().noneMatch(name -> name.contains(filter))) {
        throw new RunError(
            String.format(
                "evomerge.merge.filters: pattern '%s' matches no tensor of model %s",
                filter, model.uri()));
      }
    }
    return new GeneLayout(
        settings.layerGroups(), settings.filters(), settings.softmax(), config.numLayers());
  }

  /** The layer-path space over the sources' layers (their config.json layer counts). */
  private static DataFlowSpec dataFlow(
      RunSettings.DataFlowSettings d, List<HfModelFolder> folders, long seed) {
    List<Integer> layers = new ArrayList<>();
    for (HfModelFolder f : folders) {
      try {
        layers.add(LlamaConfig.parse(f.config(), f.uri() + "/config.json").numLayers());
      } catch (ModelConfigException e) {
        throw new RunError(e.getMessage() + " (evomerge.models.sources)", e);
      }
    }
    try {
      return new DataFlowSpec(
          layers,
          d.repeats(),
          d.embeddingModel(),
          d.headModel(),
          d.miniBatches(),
          d.holdout(),
          seed);
    } catch (IllegalArgumentException e) {
      throw new RunError(e.getMessage() + " (evomerge.search.dataflow)", e);
    }
  }

  /** Every task has rows in the held-out dev slice and in every mini-batch. */
  private static void checkBatches(DataFlowSpec flow, List<TaskSpec> tasks, List<TaskRow> rows) {
    List<Integer> batches = new ArrayList<>();
    if (flow.holdout() > 0) {
      batches.add(DataFlowSpec.HOLDOUT);
    }
    for (int b = 0; b < flow.miniBatches(); b++) {
      batches.add(b);
    }
    for (TaskSpec task : tasks) {
      List<TaskRow> own = rows.stream().filter(r -> r.task().equals(task.name())).toList();
      for (int b : batches) {
        if (own.stream().noneMatch(r -> flow.inBatch(r, b))) {
          throw new RunError(
              String.format(
                  "Task %s has no rows in %s of its %d rows (evomerge.search.dataflow.holdout ="
                      + " %s, mini-batches = %d): use fewer mini-batches or another holdout",
                  task.name(),
                  b == DataFlowSpec.HOLDOUT ? "the held-out dev slice" : "mini-batch " + b,
                  own.size(),
                  flow.holdout(),
                  flow.miniBatches()));
        }
      }
    }
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
              + " needs per-model statistics, which the search does not read per candidate:"
              + " use it as evomerge.search.final-merge with evomerge.search.strategy = evolver,"
              + " or with evomerge merge (evomerge.merge.method)");
    }
    double[] probe = new double[spec.genomeLength()];
    java.util.Arrays.fill(probe, 0.5);
    try {
      new CandidateParams(spec, probe);
    } catch (IllegalArgumentException e) {
      throw new RunError(e.getMessage() + " (evomerge.merge.genes, evomerge.merge.parameters)", e);
    }
  }

  /**
   * Configured tasks, the loglik shorthand first, with data paths made absolute URIs; those whose
   * data is Parquet or CSV (the {@code format} key, or the extension) are added to {@code frames}.
   */
  static List<TaskSpec> tasks(
      String shorthand,
      String shorthandName,
      List<Map<String, Object>> configured,
      String key,
      String shorthandKey,
      List<TaskSources.FrameTask> frames) {
    List<TaskSpec> out = new ArrayList<>();
    if (shorthand != null) {
      TaskSpec task = TaskSpec.of(shorthandName, toUri(shorthand), TaskKind.LOGLIK, 1.0);
      out.add(task);
      String format = TaskSources.format(task.data(), null, shorthandKey);
      if (!format.equals("json")) {
        frames.add(new TaskSources.FrameTask(task, format, shorthandKey));
      }
    }
    for (int i = 0; i < configured.size(); i++) {
      Map<String, Object> m = new LinkedHashMap<>(configured.get(i));
      if (m.get("data") instanceof String data) {
        m.put("data", toUri(data));
      }
      String where = key + "[" + i + "]";
      Object explicit = m.remove("format");
      TaskSpec task;
      try {
        task = TaskSpec.fromMap(m, where);
      } catch (IllegalArgumentException e) {
        throw new RunError(e.getMessage() + " (" + where + ")", e);
      }
      out.add(task);
      String format = TaskSources.format(task.data(), explicit, where + ".format");
      if (!format.equals("json")) {
        frames.add(new TaskSources.FrameTask(task, format, where));
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

  /**
   * The rows of every JSON-lines task, read and checked here, before any cluster work (those of
   * {@code frames} are read by Spark).
   */
  private static List<TaskRow> rows(
      List<TaskSpec> tasks, List<TaskSources.FrameTask> frames, Configuration conf) {
    List<TaskRow> rows = new ArrayList<>();
    for (TaskSpec task : tasks) {
      if (frames.stream().anyMatch(f -> f.task() == task)) {
        continue;
      }
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
  public static Map<String, String> hadoopConf(Map<String, String> spark) {
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
