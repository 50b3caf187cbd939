package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import java.util.Arrays;

/**
 * The sorted magnitudes of one task vector, kept on the host at a resolution of at most 2^20
 * entries, so the k-th largest magnitude for any density is a lookup instead of a selection over
 * the whole tensor per candidate. Exact for tensors of up to 2^20 entries; above that, k is rounded
 * to the nearest multiple of {@code ceil(N / 2^20)} (at most 16 entries of a 4096x4096 matrix).
 */
final class MagnitudeIndex {
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

  /** The k-th largest magnitude, k in [1, size]. */
  float kthLargest(long k) {
    long idx = size - k;
    int j = (int) Math.min(ascending.length - 1, Math.round(idx / (double) step));
    return ascending[j];
  }
}
