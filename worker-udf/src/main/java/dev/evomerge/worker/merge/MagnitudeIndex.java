package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import java.util.Arrays;

/**
 * The sorted magnitudes of one task vector, kept on the host at a resolution of at most 2^20
 * entries, so the k-th largest magnitude for any density is a lookup instead of a selection over
 * the whole tensor per candidate. Exact for tensors of up to 2^20 entries; above that, k is rounded
 * to the nearest multiple of {@code ceil(N / 2^20)} (at most 16 entries of a 4096x4096 matrix). A
 * tensor combined only once (a one-shot merge) needs no index: {@link #selection} finds the exact
 * k-th value by selection, in linear time, instead of sorting.
 */
final class MagnitudeIndex {
  /** The k-th largest magnitude of one task vector, k in [1, size]. */
  interface Magnitudes {
    float kthLargest(long k);
  }

  static final int RESOLUTION = 1 << 20;

  private final long size;
  private final int step;
  private final float[] ascending;

  private MagnitudeIndex(long size, int step, float[] ascending) {
    this.size = size;
    this.step = step;
    this.ascending = ascending;
  }

  /** Sorts the row's magnitudes once (on the host: faster than a device sort on CPU). */
  static MagnitudeIndex build(NDArray row) {
    float[] values = row.toFloatArray();
    for (int i = 0; i < values.length; i++) {
      values[i] = Math.abs(values[i]);
    }
    Arrays.parallelSort(values);
    int step = (int) Math.max(1, (values.length + RESOLUTION - 1L) / RESOLUTION);
    if (step == 1) {
      return new MagnitudeIndex(values.length, 1, values);
    }
    float[] sub = new float[(values.length + step - 1) / step];
    for (int j = 0; j < sub.length; j++) {
      sub[j] = values[j * step];
    }
    return new MagnitudeIndex(values.length, step, sub);
  }

  /**
   * The magnitudes of the row copied to the host once and selected from for each k asked (each
   * selection leaves the array partitioned, so a second one, as breadcrumbs asks, is cheaper).
   */
  static Magnitudes selection(NDArray row) {
    float[] values = row.toFloatArray();
    for (int i = 0; i < values.length; i++) {
      values[i] = Math.abs(values[i]);
    }
    return k -> select(values, Math.toIntExact(values.length - k));
  }

  /** As an index: the same values as {@link #kthLargest}. */
  Magnitudes asMagnitudes() {
    return this::kthLargest;
  }

  /**
   * The value that would be at {@code index} if {@code a} were sorted ascending, by quickselect
   * with a median-of-three pivot and a three-way partition (ties in magnitude are common: a band of
   * equal values ends the search at once); after {@code 2 log2(n)} rounds without an end, the rest
   * is sorted, so the worst case stays O(n log n). Reorders {@code a}.
   */
  static float select(float[] a, int index) {
    if (index < 0 || index >= a.length) {
      throw new IllegalArgumentException("Index " + index + " outside [0, " + a.length + ")");
    }
    int lo = 0;
    int hi = a.length - 1;
    int budget = 2 * (32 - Integer.numberOfLeadingZeros(a.length));
    while (lo < hi) {
      if (budget-- == 0) {
        Arrays.sort(a, lo, hi + 1);
        return a[index];
      }
      float pivot = median(a[lo], a[lo + (hi - lo) / 2], a[hi]);
      // [lo, lt) < pivot, [lt, i) == pivot, (gt, hi] > pivot
      int lt = lo;
      int gt = hi;
      int i = lo;
      while (i <= gt) {
        float v = a[i];
        if (v < pivot) {
          a[i++] = a[lt];
          a[lt++] = v;
        } else if (v > pivot) {
          a[i] = a[gt];
          a[gt--] = v;
        } else {
          i++;
        }
      }
      if (index < lt) {
        hi = lt - 1;
      } else if (index > gt) {
        lo = gt + 1;
      } else {
        return pivot;
      }
    }
    return a[index];
  }

  private static float median(float x, float y, float z) {
    return Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
  }

  /** The k-th largest magnitude, k in [1, size]. */
  float kthLargest(long k) {
    long idx = size - k;
    int j = (int) Math.min(ascending.length - 1, Math.round(idx / (double) step));
    return ascending[j];
  }
}
