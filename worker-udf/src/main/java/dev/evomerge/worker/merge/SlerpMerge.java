package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import com.google.common.base.Preconditions;
import java.util.List;
import java.util.Map;

/** Spherical interpolation from the base ({@code t = 0}) to the one other model ({@code t = 1}). */
final class SlerpMerge implements MergeMethod {
  @Override
  public String name() {
    return "slerp";
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
  public void validate(ResolvedParams p, String where, List<String> models) {
    double t = p.num("t");
    Preconditions.checkArgument(!Double.isNaN(t), "Invalid t for slerp at %s: %s", where, t);
  }

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    NDArray v0 = t.base().reshape(1, -1);
    NDArray v1 = t.input(0).reshape(1, -1);
    return Ops.slerpRows(v0, v1, p.num("t")).reshape(-1);
  }
}
