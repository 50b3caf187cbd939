package dev.evomerge.worker.merge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.EnumMap;
import java.util.Map;

/**
 * One tensor's inputs, resident on a device and reused by every candidate: the inputs stacked as
 * {@code [n, numel]}, the base flattened, and the task vectors {@code x_i - base} stacked the same
 * way. Stacking lets the weighted sums of the common methods run as one matrix-vector product,
 * reading each input once. Magnitude indexes for TIES/breadcrumbs trimming are built on first use
 * and cached here, so later candidates skip the selection.
 */
public final class PreparedTensor {
  private final String name;
  private final Shape shape;
  private final NDArray stacked;
  private final NDArray base;
  private final NDArray deltas;
  private final MagnitudeIndex[] magnitudes;
  private boolean once;
  private final Map<MergeStatistics.Kind, NDArray> statistics =
      new EnumMap<>(MergeStatistics.Kind.class);

  /**
   * @param name tensor name
   * @param shape shape of each input and of the result
   * @param stacked {@code [n, numel]} inputs
   * @param base {@code [numel]} base, or null
   * @param deltas {@code [n, numel]} task vectors, or null without a base
   */
  public PreparedTensor(String name, Shape shape, NDArray stacked, NDArray base, NDArray deltas) {
    this.name = name;
    this.shape = shape;
    this.stacked = stacked;
    this.base = base;
    this.deltas = deltas;
    this.magnitudes = new MagnitudeIndex[(int) stacked.getShape().get(0)];
  }

  public String name() {
    return name;
  }

  public Shape shape() {
    return shape;
  }

  public NDArray stacked() {
    return stacked;
  }

  public NDArray base() {
    return base;
  }

  public NDArray deltas() {
    return deltas;
  }

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

  /**
   * The magnitudes of task vector i for top-k thresholds: a sorted index built once (thread-safe)
   * and reused by every candidate, or, for a tensor {@linkplain #combinedOnce() combined once}, an
   * exact selection without the sort.
   */
  synchronized MagnitudeIndex.Magnitudes magnitudes(int i) {
    if (once) {
      try (NDArray row = deltas.get(i)) {
        return MagnitudeIndex.selection(row);
      }
    }
    if (magnitudes[i] == null) {
      try (NDArray row = deltas.get(i)) {
        magnitudes[i] = MagnitudeIndex.build(row);
      }
    }
    return magnitudes[i].asMagnitudes();
  }

  /**
   * Marks this tensor as combined once (a one-shot merge): top-k thresholds are then found by
   * selection, exactly and in linear time, instead of from a sorted index that only pays off over
   * many candidates. Returns this tensor.
   */
  public PreparedTensor combinedOnce() {
    once = true;
    return this;
  }

  /**
   * The inputs' statistics of that kind stacked as {@code [n, ...]} (Fisher {@code [n, numel]},
   * Gram {@code [n, in, in]}), or null when this tensor has none.
   */
  public NDArray statistic(MergeStatistics.Kind kind) {
    return statistics.get(kind);
  }

  /** Attaches stacked statistics (owned by this tensor from now on). */
  void putStatistic(MergeStatistics.Kind kind, NDArray stacked) {
    statistics.put(kind, stacked);
  }

  /** Bytes held on the device. */
  public long residentBytes() {
    long n = stacked.getShape().size() + (base == null ? 0 : base.size());
    n += deltas == null ? 0 : deltas.size();
    for (NDArray s : statistics.values()) {
      n += s.size();
    }
    return 4 * n;
  }

  /** Releases the device arrays. */
  public void close() {
    stacked.close();
    if (base != null) {
      base.close();
    }
    if (deltas != null) {
      deltas.close();
    }
    statistics.values().forEach(NDArray::close);
  }
}
