package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
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

  /**
   * Largest tensor (bytes of one float mask per entry of every model) whose random masks the
   * rescaled methods keep from the L1 pass for the merge pass; larger ones are drawn again from the
   * same seed, so a huge tensor needs memory for a few chunks only.
   */
  static volatile long storedMaskBytes = Long.getLong("evomerge.merge.storedMaskBytes", 1L << 28);

  @Override
  public NDArray combine(PreparedTensor t, ResolvedParams p) {
    double[] w = p.nums("weight");
    double lambda = p.num("lambda");
    boolean normalize = p.flag("normalize");
    if (sparsify == Sparsify.NONE && !consensus) {
      // One matrix-vector product reads every task vector once.
      return t.base().add(Ops.weightedSum(t.deltas(), sumWeights(w, lambda, normalize, null)));
    }
    if (fusable(t)) {
      return fused(t, p, w, lambda, normalize);
    }
    return chunked(t, p, w, lambda, normalize);
  }

  /**
   * The host kernel of the fused CPU path, or null (module absent, {@value FusedKernel#PROPERTY}
   * false): then every device takes the DJL path. Tests set it to null to compare with that path.
   */
  static volatile FusedKernel kernel = FusedKernel.best();

  /** Columns per block of the fused path: a multiple of 64 (whole words of random bits). */
  static volatile int fusedBlock = 1 << 20;

  /** Magnitude, random and band drops of F32 task vectors resident on the CPU. */
  private boolean fusable(PreparedTensor t) {
    return kernel != null
        && (sparsify == Sparsify.MAGNITUDE
            || sparsify == Sparsify.RANDOM
            || sparsify == Sparsify.BREADCRUMBS)
        && t.deltas().getDevice().getDeviceType().equals(ai.djl.Device.Type.CPU)
        && t.deltas().getDataType() == DataType.FLOAT32
        && t.base().getDataType() == DataType.FLOAT32;
  }

  /**
   * Drop and combine in one pass over each block of columns with {@link #kernel}, reading the task
   * vectors in place (direct buffers of the CPU tensors) and writing the result into the output's
   * memory: thresholds come from the cached {@link MagnitudeIndex}, random drops are keep bits from
   * the same streams as {@link Ops.RowStreams#nextMask} (the same bits for the same seed), and with
   * rescaling a first pass sums the L1 norms (bits kept up to {@link #storedMaskBytes}, drawn again
   * above that).
   */
  private NDArray fused(
      PreparedTensor t, ResolvedParams p, double[] w, double lambda, boolean normalize) {
    int n = t.count();
    long numel = t.numel();
    float[] lo = new float[n];
    float[] hi = new float[n];
    java.util.Arrays.fill(hi, Float.POSITIVE_INFINITY);
    if (sparsify != Sparsify.RANDOM) {
      thresholds(t, p, lo, hi);
    } else {
      java.util.Arrays.fill(lo, Float.NEGATIVE_INFINITY);
    }
    boolean band = false;
    for (float h : hi) {
      band |= h != Float.POSITIVE_INFINITY;
    }
    boolean random = sparsify == Sparsify.RANDOM;
    float[] keep = random ? toFloat(p.nums("density")) : null;
    FusedKernel k = kernel;
    int block = (int) Math.min(fusedBlock, numel);
    boolean rescale = p.has("rescale") && p.flag("rescale");
    long words = (numel + 63) / 64;
    long[][] bits = null;
    // the whole tensor's bits, kept from the L1 pass for the combine pass
    boolean whole = random && rescale && 8L * n * words <= storedMaskBytes;
    if (random) {
      bits = new long[n][(int) (whole ? words : (block + 63) / 64)];
    }
    double[] factor = null;
    float[] ones = new float[n];
    java.util.Arrays.fill(ones, 1f);
    FusedKernel.Plan drop = new FusedKernel.Plan(lo, hi, band, ones, ones, ones, false, false, 1f);
    if (rescale) {
      Ops.RowStreams streams = random ? new Ops.RowStreams(p.seed(), n) : null;
      double[] before = new double[n];
      double[] after = new double[n];
      for (long a = 0; a < numel; a += block) {
        int cols = (int) Math.min(block, numel - a);
        long from = whole ? a : 0;
        if (random) {
          streams.nextBits(cols, keep, bits, from, k);
        }
        try (NDScope scope = new NDScope()) {
          scope.suppressNotUsedWarning();
          k.l1(drop, rows(t.deltas(), n, a, cols), cols, bits, from, before, after);
        }
      }
      factor = Ops.l1Factors(toFloat(before), toFloat(after));
    }
    float[] ew = new float[n];
    for (int i = 0; i < n; i++) {
      ew[i] = (float) (w[i] * (factor == null ? 1 : factor[i]));
    }
    FusedKernel.Plan plan =
        new FusedKernel.Plan(
            lo,
            hi,
            band,
            ew,
            toFloat(w),
            consensus ? null : toFloat(sumWeights(w, lambda, normalize, factor)),
            consensus,
            normalize,
            (float) lambda);
    // Bits kept from the first pass are read again; otherwise drawn (again) block by block.
    Ops.RowStreams streams = random && !whole ? new Ops.RowStreams(p.seed(), n) : null;
    NDArray out = t.manager().create(new Shape(numel), DataType.FLOAT32);
    for (long a = 0; a < numel; a += block) {
      int cols = (int) Math.min(block, numel - a);
      long from = whole ? a : 0;
      if (streams != null) {
        streams.nextBits(cols, keep, bits, from, k);
      }
      try (NDScope scope = new NDScope()) {
        scope.suppressNotUsedWarning();
        k.combine(
            plan,
            rows(t.deltas(), n, a, cols),
            direct(t.base().get("{}:{}", a, a + cols)),
            direct(out.get("{}:{}", a, a + cols)),
            cols,
            bits,
            from);
      }
    }
    return out;
  }

  /** Columns {@code [a, a + cols)} of each row of {@code [n, numel]}, as direct buffers. */
  private static java.nio.ByteBuffer[] rows(NDArray stacked, int n, long a, int cols) {
    java.nio.ByteBuffer[] rows = new java.nio.ByteBuffer[n];
    for (int i = 0; i < n; i++) {
      rows[i] = direct(stacked.get("{}, {}:{}", i, a, a + cols));
    }
    return rows;
  }

  /** The memory of a contiguous CPU array (not a copy: writes go to the array). */
  private static java.nio.ByteBuffer direct(NDArray a) {
    java.nio.ByteBuffer b = a.toByteBuffer(true);
    Preconditions.checkState(
        b.isDirect() && b.capacity() == 4 * a.size(), "No direct view of %s", a.getShape());
    return b;
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
   * Drop and combine in column chunks: per-row thresholds come first (from the cached {@link
   * MagnitudeIndex}), then every chunk's temporaries are freed before the next, so the working set
   * stays a few MB (and the allocator reuses it) whatever the tensor's size. Masks are float 0/1
   * and the positive-weight consensus uses float operations only: boolean masks cost several float
   * passes each in PyTorch on the CPU. With rescaling, a first pass sums the kept L1 norms; the
   * second reuses its masks up to {@link #storedMaskBytes} and otherwise draws the same masks again
   * from fresh streams of the same seed.
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
    if (sparsify == Sparsify.MAGNITUDE || sparsify == Sparsify.BREADCRUMBS) {
      thresholds(t, p, lo, hi);
    }
    boolean positive = true;
    for (double x : w) {
      positive &= x > 0;
    }
    long chunk = chunkColumns(t);
    boolean rescale = p.has("rescale") && p.flag("rescale");
    double[] factor = null;
    // Masks of the first pass, kept for the second when they fit in storedMaskBytes.
    List<NDArray> stored = new java.util.ArrayList<>();
    if (rescale) {
      Masks masks = masks(t, p, lo, hi);
      boolean keep = 4L * n * numel <= storedMaskBytes;
      NDArray keptL1 = m.zeros(new Shape(n));
      for (long a = 0; a < numel; a += chunk) {
        long b = Math.min(numel, a + chunk);
        try (NDScope scope = new NDScope()) {
          scope.suppressNotUsedWarning();
          NDArray dc = deltas.get(":, {}:{}", a, b);
          NDArray mask = masks.next(dc, a, b);
          keptL1.addi(dc.mul(mask).norm(1, new int[] {1}, false));
          if (keep) {
            NDScope.unregister(mask);
            stored.add(mask);
          }
        }
      }
      factor = Ops.l1Factors(Ops.l1(deltas), keptL1.toFloatArray());
    }
    try {
      return combineChunks(t, p, w, lambda, normalize, lo, hi, positive, chunk, factor, stored);
    } finally {
      stored.forEach(NDArray::close);
    }
  }

  private NDArray combineChunks(
      PreparedTensor t,
      ResolvedParams p,
      double[] w,
      double lambda,
      boolean normalize,
      float[] lo,
      float[] hi,
      boolean positive,
      long chunk,
      double[] factor,
      List<NDArray> stored) {
    NDManager m = t.manager();
    int n = t.count();
    long numel = t.numel();
    NDArray deltas = t.deltas();
    double[] ew = new double[n];
    for (int i = 0; i < n; i++) {
      ew[i] = w[i] * (factor == null ? 1 : factor[i]);
    }
    // TIES trim with positive weights: threshold arithmetic, no mask at all.
    boolean threshold = sparsify == Sparsify.MAGNITUDE && consensus && positive;
    java.util.Iterator<NDArray> kept = stored.iterator();
    Masks masks =
        threshold ? null : !stored.isEmpty() ? (dc, a, b) -> kept.next() : masks(t, p, lo, hi);
    double[] sumW = consensus ? null : sumWeights(w, lambda, normalize, factor);
    NDArray ewCol = Ops.column(m, ew);
    NDArray ewRow = ewCol.reshape(1, n);
    NDArray wRow = Ops.column(m, w).reshape(1, n);
    Threshold cut = threshold ? new Threshold(m, lo, w) : null;
    NDArray out = m.create(new Shape(numel), DataType.FLOAT32);
    for (long a = 0; a < numel; a += chunk) {
      long b = Math.min(numel, a + chunk);
      try (NDScope scope = new NDScope()) {
        scope.suppressNotUsedWarning();
        NDArray dc = deltas.get(":, {}:{}", a, b);
        NDArray merged;
        if (threshold) {
          merged = scale(cut.ties(dc, wRow, normalize), lambda);
        } else {
          NDArray dropped = dc.mul(masks.next(dc, a, b));
          if (!consensus) {
            merged = Ops.weightedSum(dropped, sumW);
          } else if (positive) {
            merged = scale(tiesPositive(dropped, ewRow, wRow, normalize), lambda);
          } else {
            merged = scale(tiesChunk(dropped, ewCol, wRow, normalize), lambda);
          }
        }
        out.set(new NDIndex("{}:{}", a, b), merged.addi(t.base().get("{}:{}", a, b)));
      }
    }
    return out;
  }

  private static NDArray scale(NDArray merged, double lambda) {
    return lambda == 1 ? merged : merged.muli(lambda);
  }

  /** Per-row magnitude band {@code [lo, hi)} of the TIES trim and of the breadcrumbs mask. */
  private void thresholds(PreparedTensor t, ResolvedParams p, float[] lo, float[] hi) {
    long numel = t.numel();
    for (int i = 0; i < t.count(); i++) {
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
      MagnitudeIndex.Magnitudes index = t.magnitudes(i);
      lo[i] =
          keep + top >= numel
              ? Float.NEGATIVE_INFINITY
              : keep + top <= 0 ? Float.POSITIVE_INFINITY : index.kthLargest(keep + top);
      // A zero top count drops nothing: no threshold, not a zero one.
      hi[i] = top > 0 ? index.kthLargest(top) : Float.POSITIVE_INFINITY;
    }
  }

  /**
   * Columns per chunk: about {@link #chunkElements} entries over all models, even (so random
   * streams drawn per chunk equal those drawn per row), and for DELLA whole rows of the tensor,
   * since its ranks are per row.
   */
  private long chunkColumns(PreparedTensor t) {
    int n = t.count();
    if (sparsify != Sparsify.DELLA) {
      return Math.max(2, (chunkElements / n) & ~1);
    }
    long last = Ops.lastDim(t.shape());
    long rows = Math.max(1, chunkElements / (n * last));
    if ((last & 1) == 1 && (rows & 1) == 1) {
      rows++;
    }
    return rows * last;
  }

  /** Each chunk's keep mask, float 0/1 {@code [n, cols]}; chunks are asked for in order. */
  private interface Masks {
    NDArray next(NDArray chunk, long from, long to);
  }

  /** Fresh masks: random ones start their streams from the tensor's seed again. */
  private Masks masks(PreparedTensor t, ResolvedParams p, float[] lo, float[] hi) {
    NDManager m = t.manager();
    int n = t.count();
    switch (sparsify) {
      case RANDOM -> {
        Ops.RowStreams streams = new Ops.RowStreams(p.seed(), n);
        float[] keep = toFloat(p.nums("density"));
        return (dc, a, b) -> streams.nextMask(m, b - a, keep);
      }
      case DELLA -> {
        Ops.RowStreams streams = new Ops.RowStreams(p.seed(), n);
        long last = Ops.lastDim(t.shape());
        double[] slope = new double[n];
        double[] offset = new double[n];
        for (int i = 0; i < n; i++) {
          double eps = p.num(i, "epsilon");
          slope[i] = last > 1 ? 2 * eps / (last - 1) : 0;
          offset[i] = p.num(i, "density") - eps;
        }
        NDArray slopeCol = Ops.column(m, slope).reshape(n, 1, 1);
        NDArray offsetCol = Ops.column(m, offset).reshape(n, 1, 1);
        return (dc, a, b) -> {
          long rows = (b - a) / last;
          // Rank r of |d| within its tensor row, scaled to [0, 1]: keep with density - eps + 2 eps
          // r.
          NDArray rank = dc.abs().reshape(n, rows, last).argSort(2).argSort(2);
          NDArray prob = rank.toType(DataType.FLOAT32, false).muli(slopeCol).addi(offsetCol);
          NDArray u = streams.next(m, b - a).reshape(n, rows, last);
          return Ops.toFloat(u.lt(prob)).reshape(n, b - a);
        };
      }
      default -> {
        NDArray loCol = Ops.column(m, toDouble(lo));
        NDArray hiCol = Ops.column(m, toDouble(hi));
        boolean anyHi = false;
        for (float h : hi) {
          anyHi |= h != Float.POSITIVE_INFINITY;
        }
        boolean band = anyHi;
        return (dc, a, b) -> Ops.toFloat(bandMask(dc, loCol, hiCol, band));
      }
    }
  }

  /**
   * TIES steps 1-5 for positive weights on one chunk, straight from the task vectors and the
   * per-row thresholds {@code t}: with {@code tau = nextDown(t)}, {@code (d - tau)+} is non-zero
   * exactly on the kept positive entries (the sign of a float difference is exact), {@code (-d -
   * tau)+} on the kept negative ones, and their signs are 0/1 masks. The kept sums are {@code w (d
   * - tau)+ + (w tau) mask}, so two clamps, two in-place shifts, two in-place signs and four
   * matrix-vector products replace the trim, weighting and agreement masks.
   */
  private static final class Threshold {
    private final NDArray tau;
    private final NDArray negTau;
    private final NDArray weights;

    Threshold(NDManager m, float[] lo, double[] w) {
      int n = lo.length;
      double[] tauV = new double[n];
      double[] wt = new double[2 * n];
      for (int i = 0; i < n; i++) {
        boolean none = lo[i] == Float.POSITIVE_INFINITY;
        // Keep |d| >= t and never zeros: |d| > nextDown(max(t, MIN_VALUE)).
        tauV[i] = none ? Float.MAX_VALUE : Math.nextDown(Math.max(lo[i], Float.MIN_VALUE));
        wt[i] = w[i];
        wt[n + i] = none ? 0 : w[i] * tauV[i];
      }
      tau = Ops.column(m, tauV);
      negTau = tau.neg();
      weights = Ops.column(m, wt).reshape(2, n);
    }

    NDArray ties(NDArray d, NDArray wRow, boolean normalize) {
      // max(d, tau) - tau = (d - tau)+ and min(d, -tau) + tau = -(-d - tau)+, exactly: one
      // allocating and one in-place pass each.
      NDArray up = d.maximum(tau).subi(tau);
      NDArray down = d.minimum(negTau).addi(tau);
      NDArray pos = wRow.matMul(up).reshape(-1);
      NDArray neg = wRow.matMul(down).reshape(-1).negi();
      NDArray upW = weights.matMul(up.signi());
      NDArray downW = weights.matMul(down.signi()).negi();
      pos.addi(upW.get(1));
      neg.addi(downW.get(1));
      return elect(pos, neg, upW.get(0), downW.get(0), normalize);
    }
  }

  /**
   * TIES steps 2-5 for positive weights on kept (dropped, not yet weighted) task vectors, with
   * float operations only: the weighted sums of the positive entries and of the negative ones and,
   * when normalizing, their weights from the signs.
   */
  private static NDArray tiesPositive(
      NDArray kept, NDArray ewRow, NDArray wRow, boolean normalize) {
    NDArray sum = ewRow.matMul(kept).reshape(-1);
    NDArray up = kept.maximum(0f);
    NDArray pos = ewRow.matMul(up).reshape(-1);
    NDArray neg = pos.sub(sum);
    if (!normalize) {
      return elect(pos, neg, null, null, false);
    }
    NDArray upW = wRow.matMul(up.signi()).reshape(-1);
    NDArray downW = upW.sub(wRow.matMul(kept.signi()).reshape(-1));
    return elect(pos, neg, upW, downW, true);
  }

  /**
   * TIES steps 3-5 from per-column sums: {@code pos} and {@code neg} the weighted sums of the
   * positive entries and of the magnitudes of the negative ones, {@code posW} and {@code negW}
   * their weights. The elected sign is + where {@code pos - neg >= 0}; the result is that side's
   * sum, divided by its weight (0 -> 1) when normalizing. Selections are products by 0 or 1, exact.
   */
  private static NDArray elect(
      NDArray pos, NDArray neg, NDArray posW, NDArray negW, boolean normalize) {
    NDArray minus = neg.sub(pos).signi().maximum(0f); // 1 where the sum is negative
    NDArray plus = minus.neg().addi(1);
    NDArray total = pos.mul(plus).subi(neg.mul(minus));
    if (!normalize) {
      return total;
    }
    NDArray divisor = posW.mul(plus).addi(negW.mul(minus));
    return total.divi(divisor.addi(divisor.sign().negi().addi(1)));
  }

  /**
   * TIES steps 2-5 with weights of any sign: weight, elect the sign of the weighted sum (+1 where
   * it is 0), keep agreeing entries (zeros never agree), sum, divide by the kept weights.
   */
  private static NDArray tiesChunk(NDArray kept, NDArray ewCol, NDArray wRow, boolean normalize) {
    NDArray e = kept.muli(ewCol);
    NDArray sum = e.sum(new int[] {0});
    NDArray elected = sum.addi(sum.eq(0));
    NDArray keep = e.mul(elected).gt(0);
    e.muli(keep);
    NDArray total = e.sum(new int[] {0});
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

  private static float[] toFloat(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }
}
