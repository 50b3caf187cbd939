package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/** Copies its single source tensor, optionally scaled: the building block of layer stacking. */
final class PassthroughMerge implements MergeMethod {
  @Override
  public String name() {
    return "passthrough";
  }

  @Override
  public BaseUse baseUse() {
    return BaseUse.NONE;
  }

  @Override
  public Map<String, Object> globalDefaults() {
    return Map.of();
  }

  @Override
  public Map<String, Object> perModelDefaults() {
    return Map.of("scale", 1.0);
  }

  @Override
  public int inputCount() {
    return 1;
  }

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    double scale = p.num(0, "scale");
    // Always a fresh array: the caller owns the result, the resident input stays untouched.
    return scale == 1.0 ? t.input(0).duplicate() : t.input(0).mul(scale);
  }
}
