package dev.evomerge.worker.merge;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * The drop-and-combine step of the sparsified task-arithmetic methods (TIES trim, DARE drop,
 * breadcrumbs band, each with or without the TIES sign consensus) as one pass over a block of
 * elements on the host: each element's task-vector entries are read once, trimmed, weighted, summed
 * per sign, the sign elected and the disjoint mean (or the weighted sum) written next to the base,
 * with no intermediate {@code [n, cols]} arrays. Blocks are native-order float buffers (views of
 * CPU tensors); {@link #best()} picks the Vector API kernel, checked against the scalar one.
 */
interface FusedKernel {
  /** System property: {@code false} keeps the DJL path for every device. */
  String PROPERTY = "evomerge.merge.fused";

  /**
   * What is kept and how it is combined, per task vector {@code i}: with no random bits, entries
   * with {@code lo[i] <= |d| < hi[i]} ({@code hi} only where {@code band}); {@code ew[i]} the
   * weight of a kept entry (weight times rescale factor), {@code w[i]} its weight in the TIES
   * divisor; without consensus the result is {@code sum sumW[i] kept_i} (lambda and divisor
   * included), with it {@code lambda} times the elected side's sum (divided by its weights when
   * normalizing). The base is added last.
   */
  record Plan(
      float[] lo,
      float[] hi,
      boolean band,
      float[] ew,
      float[] w,
      float[] sumW,
      boolean consensus,
      boolean normalize,
      float lambda) {
    int count() {
      return ew.length;
    }
  }

  /**
   * Combines {@code cols} elements: {@code rows[i]} the task vector block of model i, {@code bits}
   * (or null) the random keep bits of each row, starting at bit {@code bitFrom} (a multiple of 64).
   */
  void combine(
      Plan p,
      ByteBuffer[] rows,
      ByteBuffer base,
      ByteBuffer out,
      int cols,
      long[][] bits,
      long bitFrom);

  /**
   * Adds each row's L1 norm to {@code before[i]} and that of its kept entries to {@code after[i]}.
   */
  void l1(
      Plan p,
      ByteBuffer[] rows,
      int cols,
      long[][] bits,
      long bitFrom,
      double[] before,
      double[] after);

  /**
   * Draws the keep bits of {@code cols} numbers of one row's stream into {@code bits} from word
   * {@code firstWord}: bit j is {@code u24_j < threshold} for the j-th 24-bit number (two per
   * 64-bit draw, high bits first), as {@link Ops.RowStreams#nextMask} compares them.
   */
  void keepBits(Ops.SplitMix rnd, int threshold, int cols, long[] bits, int firstWord);

  /**
   * The Vector API kernel where {@code jdk.incubator.vector} is in the boot layer and it agrees
   * with the scalar kernel on a self-check; null otherwise (module absent, {@value #PROPERTY}
   * false), and the callers keep the DJL path.
   */
  static FusedKernel best() {
    if (!Boolean.parseBoolean(System.getProperty(PROPERTY, "true"))
        || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      return null;
    }
    try {
      FusedKernel vector =
          (FusedKernel)
              Class.forName("dev.evomerge.worker.merge.VectorFusedKernel")
                  .getDeclaredConstructor()
                  .newInstance();
      return agrees(vector, new Scalar()) ? vector : null;
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      return null;
    }
  }

  /**
   * Both kernels give the same bits on a seeded block with magnitude ties, zeros, a ragged tail,
   * random bits and every mode (band, consensus, normalize, lambda), and draw the same keep bits
   * leaving their streams at the same state.
   */
  static boolean agrees(FusedKernel candidate, FusedKernel reference) {
    int n = 3;
    int cols = 3 * 64 + 13; // small: the check runs once per JVM, before the kernel is compiled
    SplittableRandom r = new SplittableRandom(7);
    ByteBuffer[] rows = new ByteBuffer[n];
    for (int i = 0; i < n; i++) {
      rows[i] = ByteBuffer.allocateDirect(4 * cols).order(ByteOrder.nativeOrder());
      for (int j = 0; j < cols; j++) {
        rows[i].putFloat(4 * j, (r.nextInt(17) - 8) * 0.125f);
      }
    }
    ByteBuffer base = ByteBuffer.allocateDirect(4 * cols).order(ByteOrder.nativeOrder());
    long[][] bits = new long[n][(cols + 63) / 64];
    for (int i = 0; i < n; i++) {
      base.putFloat(4 * i, (float) r.nextGaussian());
      for (int k = 0; k < bits[i].length; k++) {
        bits[i][k] = r.nextLong();
      }
    }
    ByteBuffer want = ByteBuffer.allocateDirect(4 * cols).order(ByteOrder.nativeOrder());
    ByteBuffer got = ByteBuffer.allocateDirect(4 * cols).order(ByteOrder.nativeOrder());
    float[] lo = {0.25f, 0.5f, Float.NEGATIVE_INFINITY};
    float[] hi = {0.875f, Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY};
    float[] ew = {0.5f, -0.75f, 1.25f};
    float[] w = {0.5f, -0.5f, 1f};
    for (int threshold : new int[] {-1, 0, 1 << 23, 12345678, 1 << 24}) {
      long[] a = new long[5];
      long[] b = new long[5];
      Ops.SplitMix ra = new Ops.SplitMix(threshold);
      Ops.SplitMix rb = new Ops.SplitMix(threshold);
      reference.keepBits(ra, threshold, 64 * 4 + 37, a, 0);
      candidate.keepBits(rb, threshold, 64 * 4 + 37, b, 0);
      if (!java.util.Arrays.equals(a, b) || ra.nextLong() != rb.nextLong()) {
        return false;
      }
    }
    for (int mode = 0; mode < 16; mode++) {
      Plan p =
          new Plan(lo, hi, (mode & 1) != 0, ew, w, ew, (mode & 2) != 0, (mode & 4) != 0, 0.75f);
      long[][] b = (mode & 8) != 0 ? bits : null;
      reference.combine(p, rows, base, want, cols, b, 0);
      candidate.combine(p, rows, base, got, cols, b, 0);
      double[][] l1 = new double[4][n];
      reference.l1(p, rows, cols, b, 0, l1[0], l1[1]);
      candidate.l1(p, rows, cols, b, 0, l1[2], l1[3]);
      for (int i = 0; i < n; i++) {
        // grid values: the float partial sums are exact, whatever their order
        if (l1[0][i] != l1[2][i] || l1[1][i] != l1[3][i]) {
          return false;
        }
      }
      for (int j = 0; j < cols; j++) {
        if (Float.floatToIntBits(want.getFloat(4 * j))
            != Float.floatToIntBits(got.getFloat(4 * j))) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * A magnitude threshold as the integer its bits compare as: magnitudes (sign bit clear) order
   * like their bits, so {@code |d| >= t} iff {@code bits(d) & 0x7fffffff >= magnitudeBits(t)}; a
   * threshold at or below zero (-inf: keep everything) is 0. A NaN entry compares above +inf.
   */
  static int magnitudeBits(float threshold) {
    return threshold <= 0 ? 0 : Float.floatToRawIntBits(threshold);
  }

  /** Whether bit {@code j} of row {@code i} is set. */
  static boolean bit(long[] row, long j) {
    return (row[(int) (j >>> 6)] >>> (j & 63) & 1) != 0;
  }

  /**
   * One element at a time: the reference the vector kernel is checked against, and its tail. The
   * operations and their order are the vector kernel's, lane by lane.
   */
  final class Scalar implements FusedKernel {
    @Override
    public void combine(
        Plan p,
        ByteBuffer[] rows,
        ByteBuffer base,
        ByteBuffer out,
        int cols,
        long[][] bits,
        long bitFrom) {
      range(p, rows, base, out, 0, cols, bits, bitFrom);
    }

    /** Elements {@code [from, to)} of the block. */
    static void range(
        Plan p,
        ByteBuffer[] rows,
        ByteBuffer base,
        ByteBuffer out,
        int from,
        int to,
        long[][] bits,
        long bitFrom) {
      int n = p.count();
      for (int j = from; j < to; j++) {
        float pos = 0;
        float neg = 0;
        float wPos = 0;
        float wNeg = 0;
        float sum = 0;
        for (int i = 0; i < n; i++) {
          float d = kept(p, i, rows[i].getFloat(4 * j), bits, bitFrom + j);
          if (!p.consensus()) {
            sum += d * p.sumW()[i];
            continue;
          }
          float e = d * p.ew()[i];
          pos += e > 0 ? e : 0f;
          neg += e < 0 ? e : 0f;
          wPos += e > 0 ? p.w()[i] : 0f;
          wNeg += e < 0 ? p.w()[i] : 0f;
        }
        float merged = sum;
        if (p.consensus()) {
          boolean minus = pos + neg < 0;
          merged = minus ? neg : pos;
          if (p.normalize()) {
            float divisor = minus ? wNeg : wPos;
            merged /= divisor == 0 ? 1f : divisor;
          }
          if (p.lambda() != 1) {
            merged *= p.lambda();
          }
        }
        out.putFloat(4 * j, merged + base.getFloat(4 * j));
      }
    }

    /** {@code d} where the entry is kept, else 0. */
    static float kept(Plan p, int i, float d, long[][] bits, long j) {
      boolean keep;
      if (bits != null) {
        keep = bit(bits[i], j);
      } else {
        int a = Float.floatToRawIntBits(d) & 0x7fffffff;
        keep = a >= magnitudeBits(p.lo()[i]) && (!p.band() || a < magnitudeBits(p.hi()[i]));
      }
      return keep ? d : 0f;
    }

    @Override
    public void keepBits(Ops.SplitMix rnd, int threshold, int cols, long[] bits, int firstWord) {
      int word = firstWord;
      int j = 0;
      // 64 numbers, 32 draws, per word
      for (; j + 64 <= cols; j += 64) {
        bits[word++] = word(rnd, threshold, 64);
      }
      if (j < cols) {
        bits[word] = word(rnd, threshold, cols - j);
      }
    }

    /** The bits of the next {@code count} numbers (at most 64). */
    static long word(Ops.SplitMix rnd, int threshold, int count) {
      long acc = 0;
      int k = 0;
      for (; k + 1 < count; k += 2) {
        long x = rnd.nextLong();
        long b0 = (((int) (x >>> 40)) - threshold) >>> 31;
        long b1 = (((int) ((x >>> 16) & 0xFFFFFF)) - threshold) >>> 31;
        acc |= (b0 | b1 << 1) << k;
      }
      if (k < count) {
        long b0 = (((int) (rnd.nextLong() >>> 40)) - threshold) >>> 31;
        acc |= b0 << k;
      }
      return acc;
    }

    @Override
    public void l1(
        Plan p,
        ByteBuffer[] rows,
        int cols,
        long[][] bits,
        long bitFrom,
        double[] before,
        double[] after) {
      for (int i = 0; i < p.count(); i++) {
        for (int j = 0; j < cols; j++) {
          float d = rows[i].getFloat(4 * j);
          before[i] += Math.abs(d);
          after[i] += Math.abs(kept(p, i, d, bits, bitFrom + j));
        }
      }
    }
  }
}
