package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A merge recipe as mergekit expresses it: a method, an optional base model, top-level parameters,
 * and either {@code models} (each with its parameters) or {@code slices} (layer ranges of each
 * source, with per-slice and per-source parameters). {@link #toMergekitMap()} gives the nested maps
 * and lists that serialise to mergekit's YAML; the merge engine parses that.
 */
public record MergeRecipe(
    String method,
    String baseModel,
    Map<String, ParamValue> parameters,
    List<ModelEntry> models,
    List<Slice> slices,
    String dtype) {
  public MergeRecipe {
    Preconditions.checkArgument(method != null && !method.isEmpty(), "A recipe needs a method");
    parameters = Map.copyOf(parameters == null ? Map.of() : parameters);
    models = List.copyOf(models == null ? List.of() : models);
    slices = List.copyOf(slices == null ? List.of() : slices);
    Preconditions.checkArgument(
        models.isEmpty() || slices.isEmpty(), "A recipe has models or slices, not both");
  }

  public record ModelEntry(String model, Map<String, ParamValue> parameters) {
    public ModelEntry {
      parameters = Map.copyOf(parameters == null ? Map.of() : parameters);
    }
  }

  /** Layers {@code [layerStart, layerEnd)} of {@code model}, as mergekit's {@code layer_range}. */
  public record SliceSource(
      String model, int layerStart, int layerEnd, Map<String, ParamValue> parameters) {
    public SliceSource {
      Preconditions.checkArgument(
          layerStart >= 0 && layerStart < layerEnd,
          "Invalid layer range of %s: [%s, %s)",
          model,
          layerStart,
          layerEnd);
      parameters = Map.copyOf(parameters == null ? Map.of() : parameters);
    }
  }

  public record Slice(List<SliceSource> sources, Map<String, ParamValue> parameters) {
    public Slice {
      sources = List.copyOf(sources);
      parameters = Map.copyOf(parameters == null ? Map.of() : parameters);
    }
  }

  /** The recipe as mergekit's YAML document, keys in mergekit's usual order. */
  public Map<String, Object> toMergekitMap() {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("merge_method", method);
    if (baseModel != null) {
      out.put("base_model", baseModel);
    }
    if (!slices.isEmpty()) {
      List<Object> ss = new ArrayList<>();
      for (Slice slice : slices) {
        Map<String, Object> s = new LinkedHashMap<>();
        List<Object> sources = new ArrayList<>();
        for (SliceSource src : slice.sources()) {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("model", src.model());
          m.put("layer_range", List.of(src.layerStart(), src.layerEnd()));
          if (!src.parameters().isEmpty()) {
            m.put("parameters", yaml(src.parameters()));
          }
          sources.add(m);
        }
        s.put("sources", sources);
        if (!slice.parameters().isEmpty()) {
          s.put("parameters", yaml(slice.parameters()));
        }
        ss.add(s);
      }
      out.put("slices", ss);
    } else {
      List<Object> ms = new ArrayList<>();
      for (ModelEntry e : models) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", e.model());
        if (!e.parameters().isEmpty()) {
          m.put("parameters", yaml(e.parameters()));
        }
        ms.add(m);
      }
      out.put("models", ms);
    }
    if (!parameters.isEmpty()) {
      out.put("parameters", yaml(parameters));
    }
    if (dtype != null) {
      out.put("dtype", dtype);
    }
    return out;
  }

  /** Reads mergekit's YAML document (as nested maps and lists) into a recipe. */
  public static MergeRecipe fromMergekitMap(Map<String, ?> map) {
    Object method = map.get("merge_method");
    Preconditions.checkArgument(method != null, "A recipe needs merge_method");
    Object base = map.get("base_model");
    List<ModelEntry> models = new ArrayList<>();
    if (map.get("models") instanceof List<?> list) {
      for (Object o : list) {
        Map<?, ?> m = asMap(o, "models entry");
        models.add(new ModelEntry(m.get("model").toString(), params(m.get("parameters"))));
      }
    }
    List<Slice> slices = new ArrayList<>();
    if (map.get("slices") instanceof List<?> list) {
      for (Object o : list) {
        Map<?, ?> s = asMap(o, "slice");
        List<SliceSource> sources = new ArrayList<>();
        for (Object so : (List<?>) s.get("sources")) {
          Map<?, ?> src = asMap(so, "slice source");
          List<?> range = (List<?>) src.get("layer_range");
          Preconditions.checkArgument(
              range != null && range.size() == 2, "layer_range must be [start, end]: %s", range);
          sources.add(
              new SliceSource(
                  src.get("model").toString(),
                  ((Number) range.get(0)).intValue(),
                  ((Number) range.get(1)).intValue(),
                  params(src.get("parameters"))));
        }
        slices.add(new Slice(sources, params(s.get("parameters"))));
      }
    }
    Object dtype = map.get("dtype");
    return new MergeRecipe(
        method.toString(),
        base == null ? null : base.toString(),
        params(map.get("parameters")),
        models,
        slices,
        dtype == null ? null : dtype.toString());
  }

  private static Map<?, ?> asMap(Object o, String what) {
    Preconditions.checkArgument(o instanceof Map<?, ?>, "Not a %s: %s", what, o);
    return (Map<?, ?>) o;
  }

  private static Map<String, ParamValue> params(Object o) {
    Map<String, ParamValue> out = new LinkedHashMap<>();
    if (o == null) {
      return out;
    }
    for (Map.Entry<?, ?> e : asMap(o, "parameters map").entrySet()) {
      out.put(e.getKey().toString(), ParamValue.fromYaml(e.getValue()));
    }
    return out;
  }

  private static Map<String, Object> yaml(Map<String, ParamValue> params) {
    // sorted, so the document is the same whatever map the recipe was built from
    Map<String, Object> out = new LinkedHashMap<>();
    params.keySet().stream().sorted().forEach(k -> out.put(k, params.get(k).toYaml()));
    return out;
  }
}
