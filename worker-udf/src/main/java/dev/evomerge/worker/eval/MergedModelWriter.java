package dev.evomerge.worker.eval;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.worker.io.ComputedTensors;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.HfModelWriter;
import dev.evomerge.worker.io.TensorInfo;
import dev.evomerge.worker.io.TensorSource;
import dev.evomerge.worker.io.WriteOptions;
import dev.evomerge.worker.merge.MergeEngine;
import dev.evomerge.worker.merge.MergeMethod;
import dev.evomerge.worker.merge.MergeRecipe;
import dev.evomerge.worker.merge.MergeStatistics;
import dev.evomerge.worker.merge.ParamValue;
import dev.evomerge.worker.merge.PopulationMerge;
import dev.evomerge.worker.merge.PreparedTensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Writes a candidate as an HF checkpoint with the same merge engine and parameters the executors
 * scored it with, one tensor at a time, so the written model is the evaluated one.
 */
public final class MergedModelWriter {
  private MergedModelWriter() {}

  public static void write(
      EvalSpec spec, double[] genome, Path target, DType dtype, ObjectNode extraConfig) {
    write(spec, genome, target, WriteOptions.of(dtype), extraConfig);
  }

  /** As {@link #write(EvalSpec, double[], Path, DType, ObjectNode)}, with dtype and shard size. */
  public static void write(
      EvalSpec spec, double[] genome, Path target, WriteOptions options, ObjectNode extraConfig) {
    Configuration conf = ResidentSources.hadoopConf(spec);
    PopulationSpec population = spec.population();
    CandidateParams params = population == null ? new CandidateParams(spec, genome) : null;
    MergeMethod method = ResidentSources.preparedMethod(spec);
    MergeStatistics stats = ResidentSources.statistics(spec, conf);
    List<HfModelFolder> folders = new ArrayList<>();
    for (String uri : spec.sourceUris()) {
      folders.add(HfModelFolder.open(uri, conf));
    }
    HfModelFolder base = spec.baseUri() == null ? null : HfModelFolder.open(spec.baseUri(), conf);
    ObjectNode config = folders.get(0).config();
    if (extraConfig != null) {
      config.setAll(extraConfig);
    }
    Path tokenizerFolder = new Path(spec.tokenizerUri()).getParent();
    List<Path> tokenizerFiles =
        HfModelFolder.open(tokenizerFolder.toString(), conf).tokenizerFiles();
    try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
      // Each tensor is merged when the writer reaches it and let go before the next: one merged
      // tensor on the heap and one tensor's inputs in the manager at a time.
      write(
          target,
          conf,
          config,
          options,
          tokenizerFiles,
          new ComputedTensors(),
          name -> {
            try (NDManager tensor = manager.newSubManager()) {
              PreparedTensor prepared =
                  TensorInputs.prepare(
                      method, name, spec.sourceUris(), folders, base, tensor, stats);
              NDArray out =
                  population == null
                      ? MergeEngine.combine(method, prepared, params.resolve(name), tensor)
                      : PopulationMerge.combine(
                          method,
                          population.parameters(),
                          prepared,
                          PopulationSpec.coefficients(spec, genome, name),
                          tensor);
              return out.toFloatArray();
            }
          },
          folders.get(0));
    }
  }

  /**
   * Streams every tensor of {@code reference}'s layout, computed by {@code merge}, to {@code
   * target}.
   */
  static void write(
      Path target,
      Configuration conf,
      ObjectNode config,
      WriteOptions options,
      List<Path> tokenizerFiles,
      ComputedTensors computed,
      java.util.function.Function<String, float[]> merge,
      HfModelFolder reference) {
    Map<String, TensorSource> tensors = new LinkedHashMap<>();
    for (TensorInfo info : reference.tensors().values()) {
      String name = info.name();
      tensors.put(name, computed.tensor(name, info.shape(), () -> merge.apply(name)));
    }
    HfModelWriter.write(target, conf, config, tensors, options, tokenizerFiles);
  }

  /**
   * The candidate as a mergekit recipe, so it can be reproduced with mergekit itself: a {@code
   * models} list of scalars, or filter lists when the layout has tensor-name filters; with several
   * layer groups, one slice per group (its layer range and its values). The engine resolves the
   * recipe tensor by tensor exactly as {@link CandidateParams#resolve} does.
   */
  public static MergeRecipe recipe(EvalSpec spec, double[] genome, String outDtype) {
    CandidateParams params = new CandidateParams(spec, genome);
    GeneLayout layout = spec.layout();
    List<MergeRecipe.InputModel> models = null;
    List<MergeRecipe.Slice> slices = null;
    if (layout.layerGroups() == 1) {
      models = new ArrayList<>();
      for (int i = 0; i < spec.sourceUris().size(); i++) {
        models.add(
            new MergeRecipe.InputModel(spec.sourceUris().get(i), values(params, spec, i, 0)));
      }
    } else {
      slices = new ArrayList<>();
      for (int g = 0; g < layout.layerGroups(); g++) {
        List<MergeRecipe.SliceSource> sources = new ArrayList<>();
        for (int i = 0; i < spec.sourceUris().size(); i++) {
          sources.add(
              new MergeRecipe.SliceSource(
                  spec.sourceUris().get(i),
                  layout.groupStart(g),
                  layout.groupStart(g + 1),
                  values(params, spec, i, g)));
        }
        slices.add(new MergeRecipe.Slice(sources, Map.of()));
      }
    }
    Map<String, ParamValue> global = new LinkedHashMap<>();
    spec.global().forEach((k, v) -> global.put(k, new ParamValue.Scalar(v)));
    return new MergeRecipe(
        spec.method(),
        spec.baseUri(),
        models,
        slices,
        global,
        "float32",
        outDtype,
        null,
        null,
        spec.seed(),
        null);
  }

  /**
   * A population candidate as recipes: {@code individual-i} for each individual (a linear merge of
   * the sources, {@link #recipe}), then the last entry, the population merge over the models named
   * {@code individual-0 ...} with weight 1 each (fisher and regmean read each individual's
   * statistics from its source's folder: {@code --statistics individual-i=DIR}).
   */
  public static Map<String, MergeRecipe> populationRecipes(
      EvalSpec spec, double[] genome, String outDtype) {
    PopulationSpec population = spec.population();
    EvalSpec individual = spec.withPopulation(null);
    Map<String, MergeRecipe> out = new LinkedHashMap<>();
    List<MergeRecipe.InputModel> models = new ArrayList<>();
    for (int i = 0; i < spec.sourceUris().size(); i++) {
      String name = "individual-" + i;
      out.put(name, recipe(individual, PopulationSpec.individual(spec, genome, i), outDtype));
      models.add(new MergeRecipe.InputModel(name, Map.of("weight", new ParamValue.Scalar(1.0))));
    }
    Map<String, ParamValue> global = new LinkedHashMap<>();
    population.parameters().forEach((k, v) -> global.put(k, new ParamValue.Scalar(v)));
    out.put(
        "population",
        new MergeRecipe(
            population.method(),
            null,
            models,
            null,
            global,
            "float32",
            outDtype,
            null,
            null,
            spec.seed(),
            null));
    return out;
  }

  /** Source {@code i}'s parameters in layer group {@code group}: scalars, or a filter list. */
  private static Map<String, ParamValue> values(
      CandidateParams params, EvalSpec spec, int i, int group) {
    List<String> filters = spec.layout().filters();
    int first = group * (filters.size() + 1);
    Map<String, ParamValue> out = new LinkedHashMap<>();
    for (String gene : spec.genes()) {
      if (filters.isEmpty()) {
        out.put(gene, new ParamValue.Scalar(params.perModel(first).get(i).get(gene)));
        continue;
      }
      List<ParamValue.FilterEntry> entries = new ArrayList<>();
      for (int f = 0; f <= filters.size(); f++) {
        entries.add(
            new ParamValue.FilterEntry(
                f < filters.size() ? filters.get(f) : null,
                new ParamValue.Scalar(params.perModel(first + f).get(i).get(gene))));
      }
      out.put(gene, new ParamValue.Filtered(entries));
    }
    return out;
  }
}
