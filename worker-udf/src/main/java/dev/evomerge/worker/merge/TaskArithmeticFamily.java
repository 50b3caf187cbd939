package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
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

  /**
   * Entries (all models together) per chunk of the chunked path: large enough that per-op overhead
   * and thread barriers stay small, small enough (16 MB) that temporaries are reused by the
   * allocator instead of being mapped and faulted in afresh.
   */
  static volatile int chunkElements = Integer.getInteger("evomerge.merge.chunkElements", 1 << 22);

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    double[] w = p.nums("weight");
    double lambda = p.num("lambda");
    boolean normalize = p.flag("normalize");
    if (sparsify == Sparsify.NONE && !consensus) {
      // One matrix-vector product reads every task vector once.
      return t.base().add(Ops.weightedSum(t.deltas(), sumWeights(w, lambda, normalize, null)));
    }
    if (sparsify == Sparsify.DELLA) {
      return finish(t.base(), sparsify(t, p), w, lambda, normalize);
    }
    return chunked(t, p, w, lambda, normalize);
  }

  private NDArray finish(
      NDArray base, NDArray deltas, double[] w, double lambda, boolean normalize) {
    if (!consensus) {
      return base.add(Ops.weightedSum(deltas, sumWeights(w, lambda, normalize, null)));
    }
    return base.add(tiesConsensus(deltas, w, normalize).mul(lambda));
  }

  /** Weights of a plain weighted sum: {@code w_i f_i lambda / divisor}. */
  private static double[] sumWeights(double[] w, double lambda, boolean normalize, double[] f) {
    double divisor = 1;
    double sw = Ops.sum(w);
    if (normalize && Math.abs(sw) >= 1e-8) {
      divisor = sw;
    }
    double[] scaled = new double[w.length];
    for (int i = 0; i < w.length; i++) {
      scaled[i] = w[i] * (f == null ? 1 : f[i]) * lambda / divisor;
    }
    return scaled;
  }

  /**
   * Drop and combine in column chunks: per-row thresholds and norms come first, then every chunk's
   * temporaries are freed before the next, so the working set stays a few MB (and the allocator
   * reuses it) instead of several full-size copies of the task vectors.
   */
  private NDArray chunked(
      PreparedTensor t, ResolvedParams p, double[] w, double lambda, boolean normalize) {
    NDManager m = t.manager();
    int n = t.count();
    long numel = t.numel();
    NDArray deltas = t.deltas();
    float[] lo = new float[n];
    float[] hi = new float[n];
    java.util.Arrays.fill(hi, Float.POSITIVE_INFINITY);
    NDArray keepProb = null;
    if (sparsify == Sparsify.MAGNITUDE || sparsify == Sparsify.BREADCRUMBS) {
      for (int i = 0; i < n; i++) {
        double density = p.num(i, "density");
        long keep = (long) Math.floor(density * numel);
        long top = 0;
        if (sparsify == Sparsify.BREADCRUMBS) {
          top = (long) Math.floor(p.num(i, "gamma") * numel);
          long bottom = numel - keep - top;
          if (bottom < 0) {
            top += bottom; // the top count gives way so the density target holds
          }
        }
        MagnitudeIndex index = t.magnitudeIndex(i);
        lo[i] =
            keep + top >= numel
                ? Float.NEGATIVE_INFINITY
                : keep + top <= 0 ? Float.POSITIVE_INFINITY : index.kthLargest(keep + top);
        // A zero top count drops nothing: no threshold, not a zero one.
        hi[i] = top > 0 ? index.kthLargest(top) : Float.POSITIVE_INFINITY;
      }
    } else {
      keepProb = Ops.column(m, p.nums("density"));
    }
    boolean rescale = p.has("rescale") && p.flag("rescale");
    NDArray loCol = Ops.column(m, toDouble(lo));
    NDArray hiCol = Ops.column(m, toDouble(hi));
    // Even, so random streams drawn per chunk equal those drawn per row.
    int chunk = Math.max(2, (chunkElements / n) & ~1);
    java.util.List<NDArray> masks = new java.util.ArrayList<>();
    try {
      // Pass 1: masks (random ones drawn once and kept, one byte per entry) and kept L1 norms.
      Ops.RowStreams streams = sparsify == Sparsify.RANDOM ? new Ops.RowStreams(p.seed(), n) : null;
      NDArray keptL1 = rescale ? m.zeros(new Shape(n)) : null;
      boolean anyHi = false;
      for (float h : hi) {
        anyHi |= h != Float.POSITIVE_INFINITY;
      }
      // Threshold masks are cheap to recompute; random ones and rescaled ones need a first pass.
      boolean firstPass = streams != null || rescale;
      for (long a = 0; firstPass && a < numel; a += chunk) {
        long b = Math.min(numel, a + chunk);
        try (NDScope scope = new NDScope()) {
          scope.suppressNotUsedWarning();
          NDArray dc = deltas.get(":, {}:{}", a, b);
          NDArray mask =
              streams != null
                  ? streams.next(m, b - a).lt(keepProb)
                  : bandMask(dc, loCol, hiCol, anyHi);
          if (rescale) {
            keptL1.addi(dc.mul(mask).norm(1, new int[] {1}, false));
          }
          NDScope.unregister(mask);
          masks.add(mask);
        }
      }
      double[] factor = rescale ? Ops.l1Factors(Ops.l1(deltas), keptL1.toFloatArray()) : null;
      NDArray out = m.create(new Shape(numel), DataType.FLOAT32);
      double[] sumW = consensus ? null : sumWeights(w, lambda, normalize, factor);
      double[] ew = new double[n];
      for (int i = 0; i < n; i++) {
        ew[i] = w[i] * (factor == null ? 1 : factor[i]);
      }
      boolean positive = true;
      for (double x : ew) {
        positive &= x > 0;
      }
      NDArray ewCol = Ops.column(m, ew);
      NDArray ewRow = ewCol.reshape(1, n);
      NDArray wRow = Ops.column(m, w).reshape(1, n);
      int c = 0;
      for (long a = 0; a < numel; a += chunk) {
        long b = Math.min(numel, a + chunk);
        try (NDScope scope = new NDScope()) {
          scope.suppressNotUsedWarning();
          NDArray dc = deltas.get(":, {}:{}", a, b);
          NDArray kept = dc.mul(firstPass ? masks.get(c++) : bandMask(dc, loCol, hiCol, anyHi));
          NDArray merged;
          if (consensus) {
            merged = tiesChunk(kept, positive, ewCol, ewRow, wRow, normalize).muli(lambda);
          } else {
            merged = Ops.weightedSum(kept, sumW);
          }
          out.set(new NDIndex("{}:{}", a, b), merged.addi(t.base().get("{}:{}", a, b)));
        }
      }
      return out;
    } finally {
      masks.forEach(NDArray::close);
    }
  }

  /**
   * TIES steps 2-5 on one chunk of dropped task vectors: weight, elect the sign of the weighted sum
   * (+1 where it is 0), keep agreeing entries (zeros never agree), sum, divide by the kept weights.
   * With all weights positive, agreement is {@code d * sum > 0} and both sums are matrix-vector
   * products, saving two passes over the chunk.
   */
  private static NDArray tiesChunk(
      NDArray kept,
      boolean positive,
      NDArray ewCol,
      NDArray ewRow,
      NDArray wRow,
      boolean normalize) {
    NDArray e = positive ? kept : kept.muli(ewCol);
    NDArray sum = positive ? ewRow.matMul(kept).reshape(-1) : e.sum(new int[] {0});
    NDArray elected = sum.addi(sum.eq(0));
    NDArray keep = e.mul(elected).gt(0);
    e.muli(keep);
    NDArray total = positive ? ewRow.matMul(e).reshape(-1) : e.sum(new int[] {0});
    if (!normalize) {
      return total;
    }
    NDArray divisor = wRow.matMul(keep.toType(DataType.FLOAT32, false)).reshape(-1);
    return total.divi(divisor.addi(divisor.eq(0)));
  }

  /** Entries whose magnitude lies in {@code [lo, hi)}, per row. */
  private static NDArray bandMask(NDArray d, NDArray lo, NDArray hi, boolean anyHi) {
    NDArray magnitude = d.abs();
    NDArray mask = magnitude.gte(lo);
    return anyHi ? mask.logicalAnd(magnitude.lt(hi)) : mask;
  }

  private static double[] toDouble(float[] f) {
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
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

  /** DELLA's drop: per tensor row, keep probability rising with the magnitude's rank. */
  private NDArray sparsify(PreparedTensor t, ResolvedParams p) {
    NDArray deltas = t.deltas();
    int n = t.count();
    NDArray u = Ops.uniform(t.manager(), p.seed(), n, t.numel());
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
}
