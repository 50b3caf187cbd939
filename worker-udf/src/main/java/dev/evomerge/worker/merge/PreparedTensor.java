package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * One tensor's inputs, resident on a device and reused by every candidate: the inputs stacked as
 * {@code [n, numel]}, the base flattened, and the task vectors {@code x_i - base} stacked the same
 * way. Stacking lets the weighted sums of the common methods run as one matrix-vector product,
 * reading each input once.
 *
 * @param name tensor name
 * @param shape shape of each input and of the result
 * @param stacked {@code [n, numel]} inputs
 * @param base {@code [numel]} base, or null
 * @param deltas {@code [n, numel]} task vectors, or null without a base
 */
public record PreparedTensor(
    String name, Shape shape, NDArray stacked, NDArray base, NDArray deltas) {

  public int count() {
    return (int) stacked.getShape().get(0);
  }

  public long numel() {
    return stacked.getShape().get(1);
  }

  public NDManager manager() {
    return stacked.getManager();
  }

  public NDArray input(int i) {
    return stacked.get(i);
  }

  public NDArray delta(int i) {
    return deltas.get(i);
  }

  public boolean hasBase() {
    return base != null;
  }

  /** Bytes held on the device. */
  public long residentBytes() {
    long n = stacked.getShape().size() + (base == null ? 0 : base.size());
    n += deltas == null ? 0 : deltas.size();
    return 4 * n;
  }
}
