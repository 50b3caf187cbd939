package dev.evomerge.worker.io;

import java.util.Arrays;

/**
 * A tensor widened to F32 on the Java heap, in row-major order.
 *
 * @param shape dimensions, outermost first
 * @param data {@code product(shape)} values
 */
public record FloatTensor(long[] shape, float[] data) {
  public FloatTensor {
    long numel = numel(shape);
    if (numel != data.length) {
      throw new IllegalArgumentException(
          String.format(
              "Tensor data has %d values but shape %s needs %d",
              data.length, Arrays.toString(shape), numel));
    }
  }

  public static long numel(long[] shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FloatTensor t
        && Arrays.equals(shape, t.shape)
        && Arrays.equals(data, t.data);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "FloatTensor" + Arrays.toString(shape);
  }
}
