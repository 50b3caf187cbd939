package dev.evomerge.worker.eval;

import ai.djl.ndarray.NDArray;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The linear merge {@code sum w_i x_i} (divided by {@code sum w_i} when normalising), per tensor,
 * against resident source tensors. Results belong to the caller's {@code NDScope}.
 */
final class LinearCombine {
  private LinearCombine() {}

  static Map<String, NDArray> combine(
      List<Map<String, NDArray>> sources, double[] weights, boolean normalize) {
    if (weights.length != sources.size()) {
      throw new IllegalArgumentException(
          String.format("Got %d weights for %d source models", weights.length, sources.size()));
    }
    double[] w = weights.clone();
    if (normalize) {
      double sum = 0;
      for (double x : w) {
        sum += x;
      }
      if (Math.abs(sum) < 1e-8) {
        throw new IllegalArgumentException("Linear merge weights sum to zero; cannot normalise");
      }
      for (int i = 0; i < w.length; i++) {
        w[i] /= sum;
      }
    }
    Map<String, NDArray> out = new LinkedHashMap<>();
    for (String name : sources.get(0).keySet()) {
      NDArray acc = sources.get(0).get(name).mul(w[0]);
      for (int i = 1; i < w.length; i++) {
        acc.addi(sources.get(i).get(name).mul(w[i]));
      }
      out.put(name, acc);
    }
    return out;
  }
}
