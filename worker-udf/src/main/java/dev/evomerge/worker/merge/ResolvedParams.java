package dev.evomerge.worker.merge;

import com.google.common.base.Preconditions;
import java.util.List;
import java.util.Map;

/**
 * The parameters of one output tensor, every value a scalar: what a candidate in the search
 * supplies to {@link MergeEngine#combine}.
 *
 * @param global one value per key (Double or Boolean), defaults already filled in
 * @param perModel one map per input, in the order of {@link PreparedTensor#inputs()}
 * @param seed seed of this tensor's random drops (see {@link Seeds#forTensor})
 */
public record ResolvedParams(
    Map<String, Object> global, List<Map<String, Object>> perModel, long seed) {
  public ResolvedParams {
    global = Map.copyOf(global);
    perModel = perModel.stream().map(Map::copyOf).toList();
  }

  public double num(String key) {
    return toDouble(global.get(key), key);
  }

  public boolean flag(String key) {
    Object v = global.get(key);
    Preconditions.checkArgument(v instanceof Boolean, "Parameter %s must be a boolean: %s", key, v);
    return (Boolean) v;
  }

  public boolean has(String key) {
    return global.get(key) != null;
  }

  public double num(int model, String key) {
    return toDouble(perModel.get(model).get(key), key);
  }

  public boolean has(int model, String key) {
    return perModel.get(model).get(key) != null;
  }

  public double[] nums(String key) {
    double[] out = new double[perModel.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = num(i, key);
    }
    return out;
  }

  private static double toDouble(Object v, String key) {
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    if (v instanceof Boolean b) {
      return b ? 1 : 0;
    }
    throw new IllegalArgumentException(String.format("Parameter %s must be a number: %s", key, v));
  }
}
