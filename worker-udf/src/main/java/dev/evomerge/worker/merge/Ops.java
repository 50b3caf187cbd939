package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.common.base.Preconditions;

/** Tensor building blocks shared by the methods. All results stay on the inputs' device. */
final class Ops {
  private Ops() {}

  /** {@code sum_i w_i rows_i} over {@code [n, numel]} as one matrix-vector product. */
  static NDArray weightedSum(NDArray stacked, double[] w) {
    NDArray wv = column(stacked.getManager(), w).reshape(1, w.length);
    return wv.matMul(stacked).reshape(-1);
  }

  /** {@code [n, 1]} column on the manager's device, for row-wise broadcasting. */
  static NDArray column(NDManager manager, double[] v) {
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      f[i] = (float) v[i];
    }
    return manager.create(f, new Shape(v.length, 1));
  }

  static double sum(double[] v) {
    double s = 0;
    for (double x : v) {
      s += x;
    }
    return s;
  }

  static NDArray toFloat(NDArray mask) {
    return mask.toType(DataType.FLOAT32, false);
  }

  /**
   * The k-th largest value of a 1-D array, as a 0-d array on its device, found by selection ({@code
   * topK} unsorted) rather than a full sort. {@code k} in [1, size].
   */
  static NDArray kthLargest(NDArray row, long k) {
    return row.topK((int) k, 0, true, false).get(0).min();
  }

  /**
   * Keeps the {@code k} largest entries of a 1-D array of magnitudes (ties at the threshold are
   * kept too); returns a float 0/1 mask.
   */
  static NDArray topMask(NDArray magnitude, long k) {
    long n = magnitude.size();
    if (k >= n) {
      return magnitude.onesLike();
    }
    if (k <= 0) {
      return magnitude.zerosLike();
    }
    return toFloat(magnitude.gte(kthLargest(magnitude, k)));
  }

  /**
   * Uniform [0, 1) numbers for a {@code [rows, cols]} array, drawn in Java from seeded {@link
   * SplittableRandom}s (one stream per row, as {@link SplitMix}) and copied to the device: the same
   * seed gives the same bits on any device and in any thread, which device generators with global
   * state do not.
   */
  static NDArray uniform(NDManager manager, long seed, int rows, long cols) {
    return new RowStreams(seed, rows).next(manager, cols);
  }

  /**
   * Per-row random streams read chunk by chunk: drawing a row in even-sized chunks gives the same
   * numbers as drawing it at once.
   */
  static final class RowStreams {
    private final SplitMix[] rows;
    private float[] buffer;

    RowStreams(long seed, int count) {
      rows = new SplitMix[count];
      for (int r = 0; r < count; r++) {
        rows[r] = new SplitMix(seed + 0x9E3779B97F4A7C15L * (r + 1));
      }
    }

    /** The next {@code cols} numbers of every row, as {@code [rows, cols]}. */
    NDArray next(NDManager manager, long cols) {
      return manager.create(draw(cols, null), new Shape(rows.length, cols));
    }

    /**
     * The 0/1 mask {@code u < keep[row]} of the next {@code cols} numbers of every row, compared on
     * the host as they are drawn, so the device gets a float mask directly.
     */
    NDArray nextMask(NDManager manager, long cols, float[] keep) {
      return manager.create(draw(cols, keep), new Shape(rows.length, cols));
    }

    /**
     * The keep bits {@code u < keep[row]} of the next {@code cols} numbers of every row, the same
     * bits as {@link #nextMask}'s 0/1 floats: bit {@code from + j} of {@code bits[row]} (bit {@code
     * k % 64} of word {@code k / 64}) for number j; {@code from} is a multiple of 64 and the words
     * written are cleared first.
     */
    void nextBits(int cols, float[] keep, long[][] bits, long from, FusedKernel kernel) {
      Preconditions.checkArgument(from % 64 == 0, "Bit offset %s is not a multiple of 64", from);
      for (int r = 0; r < rows.length; r++) {
        kernel.keepBits(rows[r], maskThreshold(keep[r]), cols, bits[r], (int) (from >>> 6));
      }
    }

    /** Draws into a buffer reused across chunks of the same size (no garbage per chunk). */
    private float[] draw(long cols, float[] keep) {
      Preconditions.checkArgument(
          (long) rows.length * cols <= Integer.MAX_VALUE - 8,
          "Random mask chunk too large: %s x %s",
          rows.length,
          cols);
      int c = (int) cols;
      if (buffer == null || buffer.length != rows.length * c) {
        buffer = new float[rows.length * c];
      }
      float[] out = buffer;
      for (int r = 0; r < rows.length; r++) {
        SplitMix rnd = rows[r];
        int off = r * c;
        if (keep == null) {
          fill(rnd, out, off, c);
        } else {
          fillMask(rnd, out, off, c, keep[r]);
        }
      }
      return out;
    }

    // Two 24-bit floats per 64-bit draw.
    private static void fill(SplitMix rnd, float[] out, int off, int c) {
      int j = 0;
      for (; j + 1 < c; j += 2) {
        long bits = rnd.nextLong();
        out[off + j] = (int) (bits >>> 40) * 0x1.0p-24f;
        out[off + j + 1] = (int) ((bits >>> 16) & 0xFFFFFF) * 0x1.0p-24f;
      }
      if (j < c) {
        out[off + j] = (int) (rnd.nextLong() >>> 40) * 0x1.0p-24f;
      }
    }

    /**
     * {@code u < keep} without a branch (a random branch mispredicts half the time): with {@code u
     * = u24 / 2^24} exact, {@code u < keep} iff {@code u24 < ceil(keep * 2^24)}, and the sign bit
     * of their difference is the mask.
     */
    private static void fillMask(SplitMix rnd, float[] out, int off, int c, float keep) {
      int threshold = maskThreshold(keep);
      int j = 0;
      for (; j + 1 < c; j += 2) {
        long bits = rnd.nextLong();
        out[off + j] = ((int) (bits >>> 40) - threshold) >>> 31;
        out[off + j + 1] = ((int) ((bits >>> 16) & 0xFFFFFF) - threshold) >>> 31;
      }
      if (j < c) {
        out[off + j] = ((int) (rnd.nextLong() >>> 40) - threshold) >>> 31;
      }
    }
  }

  /** {@code u < keep} iff {@code u24 < maskThreshold(keep)}, for {@code u = u24 / 2^24}. */
  static int maskThreshold(float keep) {
    return (int) Math.max(-1, Math.min(1 << 24, Math.ceil(keep * 0x1.0p24)));
  }

  /**
   * {@link java.util.SplittableRandom}'s generator, the same numbers for the same seed (its
   * documented algorithm: the seed advances by the golden gamma, each number is {@code mix64} of
   * it), with the state readable so that a vector kernel can draw ahead and hand it back.
   */
  static final class SplitMix {
    static final long GAMMA = 0x9e3779b97f4a7c15L;
    long seed;

    SplitMix(long seed) {
      this.seed = seed;
    }

    long nextLong() {
      return mix64(seed += GAMMA);
    }

    static long mix64(long z) {
      z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
      z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
      return z ^ (z >>> 31);
    }
  }

  /** Per-row L1 norms of {@code [n, m]}, as a reduction (no {@code abs} temporary). */
  static float[] l1(NDArray rows) {
    return rows.norm(1, new int[] {1}, false).toFloatArray();
  }

  /** {@code before / after} per row, 1 where either is below 1e-7. */
  static double[] l1Factors(float[] before, float[] after) {
    double[] factor = new double[before.length];
    for (int i = 0; i < factor.length; i++) {
      factor[i] = before[i] < 1e-7 || after[i] < 1e-7 ? 1 : (double) before[i] / after[i];
    }
    return factor;
  }

  /**
   * Spherical interpolation of matching rows of two {@code [r, c]} arrays, all on the device: rows
   * whose normalised dot product exceeds 0.9995 in magnitude are lerped.
   */
  static NDArray slerpRows(NDArray v0, NDArray v1, double t) {
    NDArray n0 = v0.norm(new int[] {1}, true).maximum(1e-8f);
    NDArray n1 = v1.norm(new int[] {1}, true).maximum(1e-8f);
    NDArray dot = v0.div(n0).mul(v1.div(n1)).sum(new int[] {1}, true).clip(-1, 1);
    NDArray theta = dot.acos();
    NDArray sinTheta = theta.sin();
    NDArray c0 = theta.mul(1 - t).sin().div(sinTheta);
    NDArray c1 = theta.mul(t).sin().div(sinTheta);
    NDArray lerp = dot.abs().gt(0.9995f);
    c0 = NDArrays.where(lerp, c0.onesLike().mul(1 - t), c0);
    c1 = NDArrays.where(lerp, c1.onesLike().mul(t), c1);
    return v0.mul(c0).add(v1.mul(c1));
  }

  /** The vector of row {@code i} viewed as the tensor's rows: {@code [rows, lastDim]}. */
  static NDArray asRows(NDArray flat, Shape shape) {
    return flat.reshape(-1, lastDim(shape));
  }

  /** Length of a tensor's rows: its last dimension (a 1-D tensor is one row). */
  static long lastDim(Shape shape) {
    return shape.dimension() == 0 ? 1 : shape.get(shape.dimension() - 1);
  }
}
