package dev.evomerge.worker.merge;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What to compute for every output tensor of a recipe, worked out from the checkpoint headers alone
 * so that every error (missing or mis-shaped tensor, bad parameter) surfaces before any tensor is
 * read.
 *
 * @param jobs one per output tensor, in output order
 * @param layerCount number of transformer layers in the output
 */
public record MergePlan(List<TensorJob> jobs, int layerCount) {

  /** A tensor of a source model. */
  public record TensorRef(String model, String tensor) {}

  /**
   * One output tensor: its inputs (never the base, unless the method treats the base as an ordinary
   * input), the base, and its resolved parameters.
   */
  public record TensorJob(
      String output, List<TensorRef> inputs, TensorRef base, ResolvedParams params) {
    public List<String> modelNames() {
      return inputs.stream().map(TensorRef::model).toList();
    }
  }

  private static final Pattern LAYER =
      Pattern.compile("^(.*?\\.(?:layers|h|blocks|layer)\\.)(\\d+)(\\..+)$");

  /**
   * Plans a recipe.
   *
   * @param shapes tensor shapes per model name (from the safetensors headers)
   * @param seed recipe seed for random drops
   */
  public static MergePlan plan(
      MergeRecipe recipe, Map<String, Map<String, long[]>> shapes, long seed) {
    MergeMethod method = MergeMethods.get(recipe.mergeMethod());
    for (String model : referencedModels(recipe)) {
      Preconditions.checkArgument(shapes.containsKey(model), "No checkpoint for model %s", model);
    }
    String base = recipe.baseModel();
    boolean useBase = base != null && method.baseUse() != MergeMethod.BaseUse.NONE;
    List<SliceView> slices = slices(recipe, shapes, useBase);
    Preconditions.checkArgument(
        method.baseUse() != MergeMethod.BaseUse.REQUIRED || base != null,
        "Method %s needs base_model",
        method.name());
    List<TensorJob> jobs = new ArrayList<>();
    SliceView first = slices.get(0);
    SliceView last = slices.get(slices.size() - 1);
    String refModel = first.sources.get(0).model();
    Map<String, long[]> refTensors = shapes.get(refModel);
    List<String> pre = new ArrayList<>();
    List<String> post = new ArrayList<>();
    for (String name : refTensors.keySet()) {
      if (!LAYER.matcher(name).matches()) {
        (isPostLayer(name) ? post : pre).add(name);
      }
    }
    for (String name : pre) {
      jobs.add(job(recipe, method, shapes, first, name, name, -1, 0, useBase, seed));
    }
    int outLayer = 0;
    for (SliceView slice : slices) {
      int n = slice.length;
      for (int k = 0; k < n; k++) {
        double t = n == 1 ? 0 : k / (double) (n - 1);
        int srcLayer = slice.sources.get(0).start() + k;
        for (String suffix : layerTensors(shapes.get(slice.sources.get(0).model()), srcLayer)) {
          String out = suffix.replace("{L}", Integer.toString(outLayer));
          jobs.add(job(recipe, method, shapes, slice, out, suffix, k, t, useBase, seed));
        }
        outLayer++;
      }
    }
    for (String name : post) {
      jobs.add(job(recipe, method, shapes, last, name, name, -1, 0, useBase, seed));
    }
    return new MergePlan(List.copyOf(jobs), outLayer);
  }

  /** Every model the recipe names. */
  public static Set<String> referencedModels(MergeRecipe recipe) {
    Set<String> out = new LinkedHashSet<>();
    if (recipe.baseModel() != null) {
      out.add(recipe.baseModel());
    }
    if (recipe.models() != null) {
      recipe.models().forEach(m -> out.add(m.model()));
    } else {
      recipe.slices().forEach(s -> s.sources().forEach(src -> out.add(src.model())));
    }
    return out;
  }

  /** A tensor after the layers (final norm, LM head): it takes the last slice's parameters. */
  public static boolean isPostLayer(String name) {
    return name.contains("lm_head") || name.contains("ln_f") || name.contains("norm");
  }

  /** A slice with per-source parameters; the models form is one slice over all layers. */
  private record SliceView(
      List<MergeRecipe.SliceSource> sources, Map<String, ParamValue> parameters, int length) {}

  private static List<SliceView> slices(
      MergeRecipe recipe, Map<String, Map<String, long[]>> shapes, boolean useBase) {
    if (recipe.slices() != null) {
      List<SliceView> out = new ArrayList<>();
      for (MergeRecipe.Slice s : recipe.slices()) {
        out.add(new SliceView(s.sources(), s.parameters(), s.length()));
      }
      return out;
    }
    List<MergeRecipe.SliceSource> sources = new ArrayList<>();
    String ref = useBase ? recipe.baseModel() : recipe.models().get(0).model();
    int layers = layerCount(shapes.get(ref));
    for (MergeRecipe.InputModel m : recipe.models()) {
      sources.add(new MergeRecipe.SliceSource(m.model(), 0, layers, m.parameters()));
    }
    if (!useBase) {
      return List.of(new SliceView(sources, Map.of(), layers));
    }
    if (sources.stream().noneMatch(s -> s.model().equals(recipe.baseModel()))) {
      // The base supplies the reference tensor list even when it is not listed as a model.
      sources.add(0, new MergeRecipe.SliceSource(recipe.baseModel(), 0, layers, Map.of()));
    } else {
      // Reference tensor list from the base.
      MergeRecipe.SliceSource b =
          sources.stream().filter(s -> s.model().equals(recipe.baseModel())).findFirst().get();
      sources.remove(b);
      sources.add(0, b);
    }
    return List.of(new SliceView(sources, Map.of(), layers));
  }

  static int layerCount(Map<String, long[]> tensors) {
    int max = -1;
    for (String name : tensors.keySet()) {
      Matcher m = LAYER.matcher(name);
      if (m.matches()) {
        max = Math.max(max, Integer.parseInt(m.group(2)));
      }
    }
    return max + 1;
  }

  /** Names of one layer's tensors as templates with {@code {L}} for the layer index. */
  private static List<String> layerTensors(Map<String, long[]> tensors, int layer) {
    Map<String, String> out = new TreeMap<>();
    List<String> ordered = new ArrayList<>();
    for (String name : tensors.keySet()) {
      Matcher m = LAYER.matcher(name);
      if (m.matches() && Integer.parseInt(m.group(2)) == layer) {
        String template = m.group(1) + "{L}" + m.group(3);
        if (out.put(template, name) == null) {
          ordered.add(template);
        }
      }
    }
    return ordered;
  }

  private static TensorJob job(
      MergeRecipe recipe,
      MergeMethod method,
      Map<String, Map<String, long[]>> shapes,
      SliceView slice,
      String output,
      String template,
      int k,
      double t,
      boolean useBase,
      long seed) {
    String base = recipe.baseModel();
    List<TensorRef> inputs = new ArrayList<>();
    List<Map<String, Object>> perModel = new ArrayList<>();
    TensorRef baseRef = null;
    long[] shape = null;
    String shapeFrom = null;
    MergeRecipe.SliceSource first = slice.sources.get(0);
    for (MergeRecipe.SliceSource src : slice.sources) {
      String tensor = k < 0 ? template : template.replace("{L}", Integer.toString(src.start() + k));
      long[] s = shapes.get(src.model()).get(tensor);
      Preconditions.checkArgument(
          s != null, "Model %s has no tensor %s (needed for %s)", src.model(), tensor, output);
      if (shape == null) {
        shape = s;
        shapeFrom = src.model();
      } else {
        Preconditions.checkArgument(
            Arrays.equals(shape, s),
            "Tensor %s has shape %s in model %s but %s in model %s",
            tensor,
            Arrays.toString(s),
            src.model(),
            Arrays.toString(shape),
            shapeFrom);
      }
      if (useBase && src.model().equals(base)) {
        baseRef = new TensorRef(src.model(), tensor);
        continue;
      }
      inputs.add(new TensorRef(src.model(), tensor));
      perModel.add(resolve(src.parameters(), slice.parameters, recipe.parameters(), output, t));
    }
    if (useBase && baseRef == null) {
      String tensor =
          k < 0 ? template : template.replace("{L}", Integer.toString(first.start() + k));
      long[] s = shapes.get(base).get(tensor);
      Preconditions.checkArgument(
          s != null, "Base model %s has no tensor %s (needed for %s)", base, tensor, output);
      Preconditions.checkArgument(
          Arrays.equals(shape, s),
          "Tensor %s has shape %s in base model %s but %s in model %s",
          tensor,
          Arrays.toString(s),
          base,
          Arrays.toString(shape),
          shapeFrom);
      baseRef = new TensorRef(base, tensor);
    }
    Map<String, Object> global =
        resolve(Map.of(), slice.parameters, recipe.parameters(), output, t);
    // Per-model keys at the slice or top level resolve per model above; keep only global ones here.
    global.keySet().retainAll(method.globalDefaults().keySet());
    List<String> names = inputs.stream().map(TensorRef::model).toList();
    ResolvedParams params =
        Params.resolve(method, global, perModel, Seeds.forTensor(seed, output), output, names);
    return new TensorJob(output, List.copyOf(inputs), baseRef, params);
  }

  /** Precedence: source, then slice, then top level; each value resolved for this tensor. */
  private static Map<String, Object> resolve(
      Map<String, ParamValue> source,
      Map<String, ParamValue> slice,
      Map<String, ParamValue> top,
      String tensor,
      double t) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map<String, ParamValue> level : List.of(top, slice, source)) {
      for (Map.Entry<String, ParamValue> e : level.entrySet()) {
        Object v = e.getValue().resolve(tensor, t);
        if (v != null) {
          out.put(e.getKey(), v);
        } else {
          // A filter list with no matching entry and no fallback leaves lower levels in force.
          out.putIfAbsent(e.getKey(), null);
          if (out.get(e.getKey()) == null) {
            out.remove(e.getKey());
          }
        }
      }
    }
    return out;
  }
}
