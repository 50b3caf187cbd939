package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import com.google.common.base.Preconditions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Task arithmetic and its sparsified variants: an optional drop step on each task vector (TIES
 * magnitude trim, DARE random drop, breadcrumbs band, DELLA ranked drop), then either a weighted
 * sum or the TIES sign consensus. Nine registered methods are instances of this one class because
 * they differ only in those two choices and their defaults.
 */
final class TaskArithmeticFamily implements MergeMethod {

  enum Sparsify {
    NONE,
    MAGNITUDE,
    RANDOM,
    BREADCRUMBS,
    DELLA
  }

  private final String name;
  private final Sparsify sparsify;
  private final boolean consensus;
  private final Map<String, Object> globals;
  private final Map<String, Object> perModel;

  private TaskArithmeticFamily(
      String name,
      Sparsify sparsify,
      boolean consensus,
      Map<String, Object> globals,
      Map<String, Object> perModel) {
    this.name = name;
    this.sparsify = sparsify;
    this.consensus = consensus;
    this.globals = globals;
    this.perModel = perModel;
  }

  /** The nine methods, with the defaults of the spec's table. */
  static List<MergeMethod> all() {
    return List.of(
        of("task_arithmetic", Sparsify.NONE, false, false, null, Map.of()),
        of("ties", Sparsify.MAGNITUDE, true, true, null, Map.of("density", 1.0)),
        of("dare_linear", Sparsify.RANDOM, false, false, true, Map.of("density", REQUIRED)),
        of("dare_ties", Sparsify.RANDOM, true, false, true, Map.of("density", REQUIRED)),
        of(
            "breadcrumbs",
            Sparsify.BREADCRUMBS,
            false,
            false,
            false,
            Map.of("density", 1.0, "gamma", 0.01)),
        of(
            "breadcrumbs_ties",
            Sparsify.BREADCRUMBS,
            true,
            false,
            false,
            Map.of("density", 1.0, "gamma", 0.01)),
        of("della", Sparsify.DELLA, true, true, true, Map.of("density", REQUIRED, "epsilon", 0.15)),
        of(
            "della_linear",
            Sparsify.DELLA,
            false,
            false,
            true,
            Map.of("density", REQUIRED, "epsilon", 0.15)));
  }

  private static TaskArithmeticFamily of(
      String name,
      Sparsify sparsify,
      boolean consensus,
      boolean normalize,
      Boolean rescale,
      Map<String, Object> extraPerModel) {
    Map<String, Object> g = new LinkedHashMap<>();
    g.put("normalize", normalize);
    g.put("lambda", 1.0);
    if (rescale != null) {
      g.put("rescale", rescale);
    }
    // mergekit's memory option; accepted so its recipes load, no effect (masks are float here).
    g.put("int8_mask", false);
    Map<String, Object> pm = new LinkedHashMap<>();
    pm.put("weight", REQUIRED);
    for (String k : List.of("density", "gamma", "epsilon")) {
      if (extraPerModel.containsKey(k)) {
        pm.put(k, extraPerModel.get(k));
      }
    }
    return new TaskArithmeticFamily(
        name, sparsify, consensus, java.util.Collections.unmodifiableMap(g), pm);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public BaseUse baseUse() {
    return BaseUse.REQUIRED;
  }

  @Override
  public Map<String, Object> globalDefaults() {
    return globals;
  }

  @Override
  public Map<String, Object> perModelDefaults() {
    return java.util.Collections.unmodifiableMap(perModel);
  }

  @Override
  public void validate(ResolvedParams p, String where, List<String> models) {
    for (int i = 0; i < models.size(); i++) {
      if (!perModel.containsKey("density")) {
        break;
      }
      double density = p.num(i, "density");
      Preconditions.checkArgument(
          density > 0 && density <= 1,
          "Invalid density for model %s at %s: %s (must be in (0, 1])",
          models.get(i),
          where,
          density);
      if (sparsify == Sparsify.BREADCRUMBS) {
        double gamma = p.num(i, "gamma");
        Preconditions.checkArgument(
            gamma >= 0 && gamma < 1,
            "Invalid gamma for model %s at %s: %s (must be in [0, 1))",
            models.get(i),
            where,
            gamma);
      }
      if (sparsify == Sparsify.DELLA) {
        double eps = p.num(i, "epsilon");
        Preconditions.checkArgument(
            density - eps > 0 && density + eps < 1,
            "Invalid density/epsilon for model %s at %s: density %s +- epsilon %s must lie in"
                + " (0, 1)",
            models.get(i),
            where,
            density,
            eps);
      }
    }
  }

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    double[] w = p.nums("weight");
    NDArray deltas = sparsify(t, p);
    double lambda = p.num("lambda");
    boolean normalize = p.flag("normalize");
    NDArray merged;
    if (!consensus) {
      double divisor = 1;
      double sw = Ops.sum(w);
      if (normalize && Math.abs(sw) >= 1e-8) {
        divisor = sw;
      }
      double[] scaled = new double[w.length];
      for (int i = 0; i < w.length; i++) {
        scaled[i] = w[i] * lambda / divisor;
      }
      return t.base().add(Ops.weightedSum(deltas, scaled));
    }
    merged = tiesConsensus(deltas, w, normalize);
    return t.base().add(merged.mul(lambda));
  }

  /**
   * TIES steps 2-5: weight, elect the sign of the weighted sum (+1 on ties), keep the entries that
   * agree with it (zeros never agree), sum them, divided by the kept weights when normalizing.
   */
  static NDArray tiesConsensus(NDArray deltas, double[] w, boolean normalize) {
    NDArray weighted = deltas.mul(Ops.column(deltas.getManager(), w));
    NDArray elected = weighted.sum(new int[] {0}).gte(0).toType(DataType.FLOAT32, false);
    elected = elected.mul(2).sub(1);
    NDArray keep = Ops.toFloat(weighted.mul(elected).gt(0));
    NDArray sum = weighted.mul(keep).sum(new int[] {0});
    if (!normalize) {
      return sum;
    }
    NDArray divisor = Ops.weightedSum(keep, w);
    divisor = divisor.add(Ops.toFloat(divisor.eq(0)));
    return sum.div(divisor);
  }

  private NDArray sparsify(PreparedTensor t, ResolvedParams p) {
    NDArray deltas = t.deltas();
    int n = t.count();
    long numel = t.numel();
    switch (sparsify) {
      case NONE:
        return deltas;
      case MAGNITUDE:
        {
          if (allDensitiesOne(p, n)) {
            return deltas;
          }
          NDList rows = new NDList();
          for (int i = 0; i < n; i++) {
            NDArray d = t.delta(i);
            long k = (long) Math.floor(p.num(i, "density") * numel);
            rows.add(d.mul(Ops.topMask(d.abs(), k)));
          }
          return NDArrays.stack(rows, 0);
        }
      case BREADCRUMBS:
        {
          NDList rows = new NDList();
          for (int i = 0; i < n; i++) {
            NDArray d = t.delta(i);
            rows.add(d.mul(breadcrumbsMask(d.abs(), p.num(i, "density"), p.num(i, "gamma"))));
          }
          NDArray kept = NDArrays.stack(rows, 0);
          return p.flag("rescale") ? Ops.rescaleL1(deltas, kept) : kept;
        }
      case RANDOM:
        {
          NDArray u = Ops.uniform(t.manager(), p.seed(), n, numel);
          NDArray keep = Ops.toFloat(u.lt(Ops.column(t.manager(), p.nums("density"))));
          NDArray kept = deltas.mul(keep);
          return p.flag("rescale") ? Ops.rescaleL1(deltas, kept) : kept;
        }
      case DELLA:
        {
          NDArray u = Ops.uniform(t.manager(), p.seed(), n, numel);
          NDList rows = new NDList();
          for (int i = 0; i < n; i++) {
            NDArray d = Ops.asRows(t.delta(i), t.shape());
            long cols = d.getShape().get(1);
            NDArray rank = d.abs().argSort(1).argSort(1).toType(DataType.FLOAT32, false);
            NDArray r = cols > 1 ? rank.div(cols - 1) : rank;
            double density = p.num(i, "density");
            double eps = p.num(i, "epsilon");
            NDArray prob = r.mul(2 * eps).add(density - eps).reshape(-1);
            rows.add(t.delta(i).mul(Ops.toFloat(u.get(i).lt(prob))));
          }
          NDArray kept = NDArrays.stack(rows, 0);
          return p.flag("rescale") ? Ops.rescaleL1(deltas, kept) : kept;
        }
      default:
        throw new AssertionError(sparsify);
    }
  }

  private static boolean allDensitiesOne(ResolvedParams p, int n) {
    for (int i = 0; i < n; i++) {
      if (p.num(i, "density") < 1) {
        return false;
      }
    }
    return true;
  }

  /**
   * Breadcrumbs: drop the top {@code floor(gamma N)} magnitudes and the bottom ones so that {@code
   * floor(density N)} remain; when both cannot hold, the top count gives way. A zero top count
   * drops nothing from the top (the trap: an empty top-k must not become a zero threshold).
   */
  static NDArray breadcrumbsMask(NDArray magnitude, double density, double gamma) {
    long n = magnitude.size();
    long keep = (long) Math.floor(density * n);
    long top = (long) Math.floor(gamma * n);
    long bottom = n - keep - top;
    if (bottom < 0) {
      top += bottom;
      bottom = 0;
    }
    NDArray mask = Ops.topMask(magnitude, top + keep);
    if (top > 0) {
      mask = mask.mul(Ops.toFloat(magnitude.lt(Ops.kthLargest(magnitude, top))));
    }
    return mask;
  }
}
