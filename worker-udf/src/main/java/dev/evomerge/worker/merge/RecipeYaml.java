package dev.evomerge.worker.merge;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.representer.Representer;

/**
 * mergekit YAML recipes in and out. Reading checks the method and every parameter name against it,
 * and layer ranges within a slice, before any model is opened; writing emits the same shape a user
 * can hand to mergekit, so read, write, read gives an equal {@link MergeRecipe}.
 */
public final class RecipeYaml {
  private static final Set<String> KNOWN =
      Set.of(
          "merge_method",
          "base_model",
          "models",
          "slices",
          "parameters",
          "dtype",
          "out_dtype",
          "tokenizer_source",
          "tokenizer",
          "random_seed");

  private RecipeYaml() {}

  public static MergeRecipe parse(String yamlText) {
    Object root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yamlText);
    Preconditions.checkArgument(root instanceof Map, "A recipe must be a YAML mapping");
    Map<String, Object> map = stringMap(root, "recipe");
    Object methodName = map.get("merge_method");
    Preconditions.checkArgument(methodName instanceof String, "Recipe has no merge_method");
    MergeMethod method = MergeMethods.get((String) methodName);
    Preconditions.checkArgument(
        map.containsKey("models") != map.containsKey("slices"),
        "Recipe needs exactly one of models or slices");
    List<MergeRecipe.InputModel> models = null;
    List<MergeRecipe.Slice> slices = null;
    if (map.containsKey("models")) {
      models = new ArrayList<>();
      int i = 0;
      for (Object o : list(map.get("models"), "models")) {
        Map<String, Object> m = stringMap(o, "models[" + i + "]");
        String name = string(m.get("model"), "models[" + i + "].model");
        models.add(
            new MergeRecipe.InputModel(
                name, params(method, m.get("parameters"), "parameters of model " + name)));
        i++;
      }
    } else {
      slices = new ArrayList<>();
      int si = 0;
      for (Object o : list(map.get("slices"), "slices")) {
        Map<String, Object> s = stringMap(o, "slices[" + si + "]");
        List<MergeRecipe.SliceSource> sources = new ArrayList<>();
        int j = 0;
        for (Object so : list(s.get("sources"), "slices[" + si + "].sources")) {
          String where = "slices[" + si + "].sources[" + j + "]";
          Map<String, Object> src = stringMap(so, where);
          String name = string(src.get("model"), where + ".model");
          List<Object> range = list(src.get("layer_range"), where + ".layer_range");
          Preconditions.checkArgument(
              range.size() == 2
                  && range.get(0) instanceof Integer
                  && range.get(1) instanceof Integer,
              "layer_range of model %s in %s must be two integers: %s",
              name,
              where,
              range);
          sources.add(
              new MergeRecipe.SliceSource(
                  name,
                  (Integer) range.get(0),
                  (Integer) range.get(1),
                  params(
                      method,
                      src.get("parameters"),
                      "parameters of model " + name + " in " + where)));
          j++;
        }
        for (MergeRecipe.SliceSource src : sources) {
          Preconditions.checkArgument(
              src.length() == sources.get(0).length(),
              "Layer ranges in slices[%s] differ in length: model %s has [%s, %s) (%s layers),"
                  + " model %s has [%s, %s) (%s layers)",
              si,
              sources.get(0).model(),
              sources.get(0).start(),
              sources.get(0).end(),
              sources.get(0).length(),
              src.model(),
              src.start(),
              src.end(),
              src.length());
        }
        slices.add(
            new MergeRecipe.Slice(
                sources, params(method, s.get("parameters"), "slices[" + si + "].parameters")));
        si++;
      }
    }
    Map<String, Object> extra = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : map.entrySet()) {
      if (!KNOWN.contains(e.getKey())) {
        extra.put(e.getKey(), e.getValue());
      }
    }
    Object seed = map.get("random_seed");
    Preconditions.checkArgument(
        seed == null || seed instanceof Number, "random_seed must be an integer: %s", seed);
    Object tokenizer = map.get("tokenizer");
    return new MergeRecipe(
        method.name(),
        optString(map.get("base_model"), "base_model"),
        models,
        slices,
        params(method, map.get("parameters"), "parameters"),
        optString(map.get("dtype"), "dtype"),
        optString(map.get("out_dtype"), "out_dtype"),
        optString(map.get("tokenizer_source"), "tokenizer_source"),
        tokenizer == null ? null : stringMap(tokenizer, "tokenizer"),
        seed == null ? null : ((Number) seed).longValue(),
        extra);
  }

  public static String write(MergeRecipe recipe) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("merge_method", recipe.mergeMethod());
    if (recipe.baseModel() != null) {
      out.put("base_model", recipe.baseModel());
    }
    if (recipe.models() != null) {
      List<Object> models = new ArrayList<>();
      for (MergeRecipe.InputModel m : recipe.models()) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("model", m.model());
        putParams(e, m.parameters());
        models.add(e);
      }
      out.put("models", models);
    } else {
      List<Object> slices = new ArrayList<>();
      for (MergeRecipe.Slice s : recipe.slices()) {
        List<Object> sources = new ArrayList<>();
        for (MergeRecipe.SliceSource src : s.sources()) {
          Map<String, Object> e = new LinkedHashMap<>();
          e.put("model", src.model());
          e.put("layer_range", List.of(src.start(), src.end()));
          putParams(e, src.parameters());
          sources.add(e);
        }
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("sources", sources);
        putParams(e, s.parameters());
        slices.add(e);
      }
      out.put("slices", slices);
    }
    putParams(out, recipe.parameters());
    putIf(out, "dtype", recipe.dtype());
    putIf(out, "out_dtype", recipe.outDtype());
    putIf(out, "tokenizer_source", recipe.tokenizerSource());
    putIf(out, "tokenizer", recipe.tokenizer());
    putIf(out, "random_seed", recipe.randomSeed());
    out.putAll(recipe.extra());
    DumperOptions options = new DumperOptions();
    options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    options.setIndent(2);
    options.setIndicatorIndent(0);
    Representer representer = new Representer(options);
    return new Yaml(representer, options).dump(out);
  }

  private static void putParams(Map<String, Object> target, Map<String, ParamValue> params) {
    if (params.isEmpty()) {
      return;
    }
    Map<String, Object> p = new LinkedHashMap<>();
    params.forEach((k, v) -> p.put(k, toYaml(v)));
    target.put("parameters", p);
  }

  private static Object toYaml(ParamValue v) {
    if (v instanceof ParamValue.Scalar s) {
      return s.value();
    }
    if (v instanceof ParamValue.Gradient g) {
      return new ArrayList<>(g.points());
    }
    List<Object> entries = new ArrayList<>();
    for (ParamValue.FilterEntry e : ((ParamValue.Filtered) v).entries()) {
      Map<String, Object> m = new LinkedHashMap<>();
      if (e.filter() != null) {
        m.put("filter", e.filter());
      }
      m.put("value", toYaml(e.value()));
      entries.add(m);
    }
    return entries;
  }

  private static void putIf(Map<String, Object> target, String key, Object value) {
    if (value != null) {
      target.put(key, value);
    }
  }

  private static Map<String, ParamValue> params(MergeMethod method, Object node, String where) {
    if (node == null) {
      return Map.of();
    }
    Map<String, ParamValue> out = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : stringMap(node, where).entrySet()) {
      String key = e.getKey();
      Preconditions.checkArgument(
          method.parameterNames().contains(key),
          "Method %s does not take parameter %s (in %s); it takes %s",
          method.name(),
          key,
          where,
          method.parameterNames());
      out.put(key, paramValue(e.getValue(), where + "." + key));
    }
    return out;
  }

  static ParamValue paramValue(Object node, String where) {
    if (node instanceof Number n) {
      return new ParamValue.Scalar(n.doubleValue());
    }
    if (node instanceof Boolean || node instanceof String) {
      return new ParamValue.Scalar(node);
    }
    if (node instanceof List<?> l) {
      Preconditions.checkArgument(!l.isEmpty(), "Empty list for %s", where);
      if (l.get(0) instanceof Map) {
        List<ParamValue.FilterEntry> entries = new ArrayList<>();
        for (Object o : l) {
          Map<String, Object> m = stringMap(o, where);
          Preconditions.checkArgument(
              m.containsKey("value"), "Filter entry of %s has no value: %s", where, m);
          entries.add(
              new ParamValue.FilterEntry(
                  optString(m.get("filter"), where + ".filter"),
                  paramValue(m.get("value"), where)));
        }
        return new ParamValue.Filtered(entries);
      }
      List<Double> points = new ArrayList<>();
      for (Object o : l) {
        Preconditions.checkArgument(
            o instanceof Number, "Gradient %s must hold numbers only: %s", where, l);
        points.add(((Number) o).doubleValue());
      }
      return new ParamValue.Gradient(points);
    }
    throw new IllegalArgumentException(String.format("Unsupported value for %s: %s", where, node));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> stringMap(Object o, String where) {
    Preconditions.checkArgument(o instanceof Map, "%s must be a mapping: %s", where, o);
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<Object, Object> e : ((Map<Object, Object>) o).entrySet()) {
      out.put(String.valueOf(e.getKey()), e.getValue());
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object o, String where) {
    Preconditions.checkArgument(o instanceof List, "%s must be a list: %s", where, o);
    return (List<Object>) o;
  }

  private static String string(Object o, String where) {
    Preconditions.checkArgument(o instanceof String, "%s must be a string: %s", where, o);
    return (String) o;
  }

  private static String optString(Object o, String where) {
    return o == null ? null : string(o, where);
  }
}
