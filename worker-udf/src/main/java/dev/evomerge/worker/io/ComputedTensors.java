package dev.evomerge.worker.io;

import java.util.function.Supplier;

/**
 * Tensors computed when a writer first reads them (a merge writing its output), for {@link
 * HfModelWriter}, which streams tensors one after another into the shard being written: only the
 * tensor being written is held, the previous one is let go before the next is computed. So a merged
 * model of any size needs memory for one output tensor, whatever the shard size; {@link
 * #peakHeldElements()} and {@link #computations()} say so for a finished write.
 */
public final class ComputedTensors {
  private Object current;
  private float[] values;
  private long peakHeld;
  private int computations;

  /** Tensor {@code name} of {@code shape} whose values {@code compute} returns (row-major). */
  public TensorSource tensor(String name, long[] shape, Supplier<float[]> compute) {
    long[] dims = shape.clone();
    Object key = new Object();
    return new TensorSource() {
      @Override
      public long[] shape() {
        return dims.clone();
      }

      @Override
      public void read(long first, float[] dst, int offset, int count) {
        System.arraycopy(
            valuesOf(key, name, dims, compute), Math.toIntExact(first), dst, offset, count);
      }
    };
  }

  private synchronized float[] valuesOf(
      Object key, String name, long[] shape, Supplier<float[]> compute) {
    if (current != key) {
      values = null; // let the previous tensor go before computing the next
      current = null;
      float[] computed = compute.get();
      if (computed.length != FloatTensor.numel(shape)) {
        throw new IllegalStateException(
            String.format(
                "Merged tensor %s has %s values, expected %s",
                name, computed.length, FloatTensor.numel(shape)));
      }
      values = computed;
      current = key;
      computations++;
      peakHeld = Math.max(peakHeld, values.length);
    }
    return values;
  }

  /** The most values held at once: the largest tensor's element count once all are written. */
  public synchronized long peakHeldElements() {
    return peakHeld;
  }

  /** Values held now: those of the tensor being written, 0 while the next one is computed. */
  public synchronized long heldElements() {
    return values == null ? 0 : values.length;
  }

  /** Tensors computed so far (each once when the writer streams them in order). */
  public synchronized int computations() {
    return computations;
  }
}
