package dev.evomerge.worker.merge;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds {@link ResolvedParams}: checks names, fills defaults, runs the method's validation. */
public final class Params {
  private Params() {}

  /**
   * Resolved parameters of one tensor from scalar values already chosen by precedence.
   *
   * @param where the tensor (or other context) for error messages
   * @param models input names, same order as {@code perModel}
   */
  public static ResolvedParams resolve(
      MergeMethod method,
      Map<String, ?> global,
      List<? extends Map<String, ?>> perModel,
      long seed,
      String where,
      List<String> models) {
    Preconditions.checkArgument(
        perModel.size() == models.size(),
        "%s: %s parameter sets for models %s",
        where,
        perModel.size(),
        models);
    checkCount(method, models, where);
    Map<String, Object> g = new LinkedHashMap<>();
    for (Map.Entry<String, ?> e : global.entrySet()) {
      Preconditions.checkArgument(
          method.globalDefaults().containsKey(e.getKey())
              || method.perModelDefaults().containsKey(e.getKey()),
          "Method %s does not take parameter %s (at %s); it takes %s",
          method.name(),
          e.getKey(),
          where,
          method.parameterNames());
    }
    for (Map.Entry<String, Object> d : method.globalDefaults().entrySet()) {
      Object v = global.get(d.getKey());
      Object value = v != null ? normalise(v) : d.getValue();
      Preconditions.checkArgument(
          value != MergeMethod.REQUIRED,
          "Method %s needs parameter %s (at %s)",
          method.name(),
          d.getKey(),
          where);
      g.put(d.getKey(), value);
    }
    List<Map<String, Object>> pm = new ArrayList<>();
    for (int i = 0; i < perModel.size(); i++) {
      Map<String, ?> given = perModel.get(i);
      for (String key : given.keySet()) {
        Preconditions.checkArgument(
            method.perModelDefaults().containsKey(key) || method.globalDefaults().containsKey(key),
            "Method %s does not take parameter %s (model %s, at %s); it takes %s",
            method.name(),
            key,
            models.get(i),
            where,
            method.parameterNames());
      }
      Map<String, Object> m = new LinkedHashMap<>();
      for (Map.Entry<String, Object> d : method.perModelDefaults().entrySet()) {
        Object v = given.get(d.getKey());
        if (v == null) {
          v = global.get(d.getKey());
        }
        Object value = v != null ? normalise(v) : d.getValue();
        Preconditions.checkArgument(
            value != MergeMethod.REQUIRED,
            "Missing required %s for model %s (method %s, at %s)",
            d.getKey(),
            models.get(i),
            method.name(),
            where);
        m.put(d.getKey(), value);
      }
      pm.add(m);
    }
    ResolvedParams resolved = new ResolvedParams(g, pm, seed);
    method.validate(resolved, where, models);
    return resolved;
  }

  static void checkCount(MergeMethod method, List<String> models, String where) {
    int n = models.size();
    if (method.inputCount() >= 0) {
      int withBase =
          method.inputCount() + (method.baseUse() == MergeMethod.BaseUse.REQUIRED ? 1 : 0);
      Preconditions.checkArgument(
          n == method.inputCount(),
          "Method %s takes exactly %s models%s, got %s: %s (at %s)",
          method.name(),
          withBase,
          method.baseUse() == MergeMethod.BaseUse.REQUIRED ? " including base_model" : "",
          n + (withBase - method.inputCount()),
          models,
          where);
    } else {
      Preconditions.checkArgument(
          n >= method.minInputs(),
          "Method %s needs at least %s models besides the base, got %s (at %s)",
          method.name(),
          method.minInputs(),
          models,
          where);
    }
  }

  private static Object normalise(Object v) {
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    if (v instanceof Boolean) {
      return v;
    }
    throw new IllegalArgumentException("Parameter value must be a number or a boolean: " + v);
  }
}
