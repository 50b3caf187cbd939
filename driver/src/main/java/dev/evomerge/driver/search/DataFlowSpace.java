package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.List;

/**
 * The search space of a data-flow (layer stacking) search, as in Sakana's evolutionary merge: an
 * indicator gene per slot of the repeated layer list, in {@code [-1, 1]} (a slot is in the path
 * when its gene is {@code > 0}), then the {@code M x M} scaling matrix, each gene in the given
 * bounds. The search starts from a given genome (the embedding model's own path, every scale 1), so
 * the first mean is the best single model the search has to beat. How genes become a path is the
 * executors' {@code DataFlowSpec}.
 */
public final class DataFlowSpace {
  /** Bounds of an indicator gene. */
  public static final double INDICATOR = 1.0;

  private DataFlowSpace() {}

  /** Indicator bounds for {@code slots} genes, then scale bounds for {@code models}² genes. */
  public static Bounds bounds(int slots, int models, double scaleLower, double scaleUpper) {
    Preconditions.checkArgument(
        slots > 0 && models > 0, "Invalid data-flow space %s x %s", slots, models);
    Preconditions.checkArgument(
        scaleLower < scaleUpper, "Invalid scale bounds [%s, %s]", scaleLower, scaleUpper);
    int n = slots + models * models;
    double[] lower = new double[n];
    double[] upper = new double[n];
    for (int i = 0; i < n; i++) {
      lower[i] = i < slots ? -INDICATOR : scaleLower;
      upper[i] = i < slots ? INDICATOR : scaleUpper;
    }
    return new Bounds(lower, upper, null);
  }

  /**
   * A search over the space from {@code start} (CMA-ES takes it as its first mean; the other
   * strategies as a member of the first population).
   *
   * @throws IllegalArgumentException when the strategy or its options are invalid, or {@code start}
   *     is outside the bounds
   */
  public static SearchRun search(
      SearchRun.Spec spec, Bounds bounds, double[] start, StoppingRules stopping) {
    bounds.checkGenome(new Genome(start), "The data-flow start genome");
    return SearchRun.start(spec, bounds, List.of(new Genome(start)), stopping);
  }
}
