package dev.evomerge.worker.merge;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.base.Preconditions;
import dev.evomerge.worker.io.ComputedTensors;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.HfModelWriter;
import dev.evomerge.worker.io.TensorInfo;
import dev.evomerge.worker.io.TensorSource;
import dev.evomerge.worker.io.WriteOptions;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * One-shot merge of checkpoint folders: plans from the headers (so bad recipes fail before any
 * tensor is read), then merges tensor by tensor, holding only one tensor's inputs on the device at
 * a time, and writes a Hugging Face folder plus the recipe (with its seed) as {@code
 * mergekit_config.yml}.
 */
public final class MergeRunner {
  /** Name of the recipe written next to the merged weights, as mergekit does. */
  public static final String RECIPE_FILE = "mergekit_config.yml";

  /** Called after each output tensor. */
  public interface Progress {
    void tensorDone(int done, int total, String tensor);
  }

  /**
   * @param device where tensors are merged
   * @param seed seed of random drops; recorded in the written recipe
   * @param locations model name to folder URI; names not listed are used as paths themselves
   * @param statistics model name to its statistics folder (fisher, regmean); default {@code
   *     statistics/} inside the model's folder
   * @param maxShardBytes shard size of the written model ({@code --max-shard-size})
   */
  public record Options(
      Device device,
      long seed,
      Map<String, String> locations,
      Map<String, String> statistics,
      long maxShardBytes) {
    public Options {
      locations = Map.copyOf(locations);
      statistics = Map.copyOf(statistics);
      Preconditions.checkArgument(
          maxShardBytes > 0, "Max shard size must be positive: %s", maxShardBytes);
    }

    public Options(Device device, long seed, Map<String, String> locations) {
      this(device, seed, locations, Map.of(), WriteOptions.DEFAULT_MAX_SHARD_BYTES);
    }

    public String locate(String model) {
      return locations.getOrDefault(model, model);
    }

    /** Where the statistics of {@code model} are. */
    public String statisticsOf(String model) {
      String given = statistics.get(model);
      if (given != null) {
        return given;
      }
      String folder = locate(model);
      return (folder.endsWith("/") ? folder : folder + "/") + StatisticsFolder.DEFAULT_SUBFOLDER;
    }
  }

  private MergeRunner() {}

  /** Merges {@code recipe} into a new folder {@code out}; returns the plan it executed. */
  public static MergePlan run(
      MergeRecipe recipe, Path out, Configuration conf, Options options, Progress progress) {
    Map<String, HfModelFolder> folders = new LinkedHashMap<>();
    Map<String, Map<String, long[]>> shapes = new LinkedHashMap<>();
    for (String model : MergePlan.referencedModels(recipe)) {
      HfModelFolder folder = HfModelFolder.open(options.locate(model), conf);
      folders.put(model, folder);
      Map<String, long[]> s = new LinkedHashMap<>();
      for (TensorInfo info : folder.tensors().values()) {
        if (info.dtype().isFloatingPoint()) {
          s.put(info.name(), info.shape());
        }
      }
      shapes.put(model, s);
    }
    MergePlan plan = MergePlan.plan(recipe, shapes, options.seed());
    String reference =
        recipe.baseModel() != null
            ? recipe.baseModel()
            : MergePlan.referencedModels(recipe).iterator().next();
    HfModelFolder tokenizerFolder = tokenizerFolder(recipe, folders, reference);
    DType dtype = outDtype(recipe, folders.get(reference));
    MergeMethod method = MergeMethods.get(recipe.mergeMethod());
    MergeStatistics stats = statistics(method, plan, shapes, conf, options);

    ObjectNode config = folders.get(reference).config();
    if (config.has("num_hidden_layers") && plan.layerCount() > 0) {
      config.put("num_hidden_layers", plan.layerCount());
    }
    try (NDManager root = NDManager.newBaseManager(options.device())) {
      // The writer pulls each tensor as it streams it out: one merged tensor on the heap and one
      // tensor's inputs on the device at a time, and an existing --out fails before any merging.
      Map<String, TensorSource> tensors = new LinkedHashMap<>();
      ComputedTensors streamed = new ComputedTensors();
      int[] done = {0};
      for (MergePlan.TensorJob job : plan.jobs()) {
        MergePlan.TensorRef first = job.inputs().get(0);
        long[] shape = shapes.get(first.model()).get(first.tensor());
        tensors.put(
            job.output(),
            streamed.tensor(
                job.output(),
                shape,
                () -> {
                  float[] values = merge(root, method, job, folders, stats);
                  progress.tensorDone(++done[0], plan.jobs().size(), job.output());
                  return values;
                }));
      }
      HfModelWriter.write(
          out,
          conf,
          config,
          tensors,
          new WriteOptions(dtype, options.maxShardBytes()),
          tokenizerFolder.tokenizerFiles());
    }
    writeRecipe(recipe.withRandomSeed(options.seed()), out, conf);
    return plan;
  }

  /** One output tensor: its inputs read and merged on the device, the result copied to the heap. */
  private static float[] merge(
      NDManager root,
      MergeMethod method,
      MergePlan.TensorJob job,
      Map<String, HfModelFolder> folders,
      MergeStatistics stats) {
    // One sub-manager per tensor: its inputs and result are freed before the next one.
    try (NDManager m = root.newSubManager()) {
      List<NDArray> inputs = new ArrayList<>();
      for (MergePlan.TensorRef ref : job.inputs()) {
        inputs.add(load(m, folders.get(ref.model()), ref.tensor()));
      }
      NDArray base =
          job.base() == null ? null : load(m, folders.get(job.base().model()), job.base().tensor());
      PreparedTensor prepared =
          MergeEngine.prepare(
              method, job.output(), job.modelNames(), inputs, base, forJob(stats, job));
      inputs.forEach(NDArray::close);
      return MergeEngine.combine(method, prepared.combinedOnce(), job.params(), m).toFloatArray();
    }
  }

  /**
   * Opens the statistics the method needs and checks them against every job from the headers, so a
   * missing or mis-shaped statistic fails before any tensor is read.
   */
  private static MergeStatistics statistics(
      MergeMethod method,
      MergePlan plan,
      Map<String, Map<String, long[]>> shapes,
      Configuration conf,
      Options options) {
    if (method.statistics().isEmpty()) {
      return MergeStatistics.NONE;
    }
    Map<String, String> folders = new LinkedHashMap<>();
    for (MergePlan.TensorJob job : plan.jobs()) {
      for (String model : job.modelNames()) {
        folders.computeIfAbsent(model, options::statisticsOf);
      }
    }
    MergeStatistics stats = StatisticsFolder.open(folders, method.statistics(), conf);
    for (MergePlan.TensorJob job : plan.jobs()) {
      MergePlan.TensorRef first = job.inputs().get(0);
      long[] shape = shapes.get(first.model()).get(first.tensor());
      for (MergeStatistics.Kind kind : method.statistics()) {
        MergeStatistics.check(forJob(stats, job), kind, job.output(), shape, job.modelNames());
      }
    }
    return stats;
  }

  /**
   * The statistics of one job, looked up under each model's own tensor name (slices may take
   * different layers from different models) while the job asks under the output name.
   */
  private static MergeStatistics forJob(MergeStatistics stats, MergePlan.TensorJob job) {
    if (stats == MergeStatistics.NONE) {
      return stats;
    }
    Map<String, String> tensorOf = new LinkedHashMap<>();
    job.inputs().forEach(ref -> tensorOf.putIfAbsent(ref.model(), ref.tensor()));
    return new MergeStatistics() {
      @Override
      public long[] shape(Kind kind, String model, String tensor) {
        return stats.shape(kind, model, tensorOf.getOrDefault(model, tensor));
      }

      @Override
      public FloatTensor read(Kind kind, String model, String tensor) {
        return stats.read(kind, model, tensorOf.getOrDefault(model, tensor));
      }
    };
  }

  private static NDArray load(NDManager m, HfModelFolder folder, String tensor) {
    FloatTensor t = folder.readFloat(tensor);
    return m.create(t.data(), new Shape(t.shape()));
  }

  private static HfModelFolder tokenizerFolder(
      MergeRecipe recipe, Map<String, HfModelFolder> folders, String reference) {
    String source = recipe.effectiveTokenizerSource();
    if (source == null || source.equals("base")) {
      return folders.get(reference);
    }
    Preconditions.checkArgument(
        folders.containsKey(source),
        "tokenizer source %s is not supported; use base or one of the models %s",
        source,
        folders.keySet());
    return folders.get(source);
  }

  static DType outDtype(MergeRecipe recipe, HfModelFolder reference) {
    String name = recipe.outDtype() != null ? recipe.outDtype() : recipe.dtype();
    if (name == null) {
      return reference.tensors().values().stream()
          .map(TensorInfo::dtype)
          .filter(DType::isFloatingPoint)
          .findFirst()
          .orElse(DType.F32);
    }
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "float32", "fp32", "f32" -> DType.F32;
      case "float16", "fp16", "f16", "half" -> DType.F16;
      case "bfloat16", "bf16" -> DType.BF16;
      default -> throw new IllegalArgumentException("Unsupported dtype in recipe: " + name);
    };
  }

  private static void writeRecipe(MergeRecipe recipe, Path out, Configuration conf) {
    try (OutputStream os = out.getFileSystem(conf).create(new Path(out, RECIPE_FILE), true)) {
      os.write(RecipeYaml.write(recipe).getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException("Cannot write " + RECIPE_FILE + " to " + out, e);
    }
  }
}
