package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import java.util.Map;

/**
 * Takes the other model's value where it is within {@code t} of the base, blending towards the base
 * as they diverge: {@code omega = clamp(t / max(|b - x|, 1e-6), 0, 1)}.
 */
final class NearSwapMerge implements MergeMethod {
  @Override
  public String name() {
    return "nearswap";
  }

  @Override
  public BaseUse baseUse() {
    return BaseUse.REQUIRED;
  }

  @Override
  public Map<String, Object> globalDefaults() {
    return Map.of("t", REQUIRED);
  }

  @Override
  public Map<String, Object> perModelDefaults() {
    return Map.of();
  }

  @Override
  public int inputCount() {
    return 1;
  }

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    NDArray x = t.input(0);
    NDArray b = t.base();
    NDArray omega = b.sub(x).abs().maximum(1e-6f).pow(-1).mul(p.num("t")).clip(0, 1);
    return x.mul(omega).add(b.mul(omega.neg().add(1)));
  }
}
