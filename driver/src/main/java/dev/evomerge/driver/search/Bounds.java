package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.Arrays;

/**
 * The box a search runs in: a lower and upper bound per gene, and the crossover block each gene
 * belongs to (genes of one block are inherited together in block-wise crossover). Strategies
 * enforce the bounds themselves by reflection, so every genome they ask for lies inside.
 */
public record Bounds(double[] lower, double[] upper, int[] blocks) {
  public Bounds {
    Preconditions.checkArgument(lower.length > 0, "Bounds need at least one gene");
    Preconditions.checkArgument(
        lower.length == upper.length,
        "Got %s lower and %s upper bounds",
        lower.length,
        upper.length);
    if (blocks == null) {
      blocks = new int[lower.length];
      Arrays.setAll(blocks, i -> i);
    }
    Preconditions.checkArgument(
        blocks.length == lower.length,
        "Got %s block ids for %s genes",
        blocks.length,
        lower.length);
    for (int i = 0; i < lower.length; i++) {
      Preconditions.checkArgument(
          Double.isFinite(lower[i]) && Double.isFinite(upper[i]) && lower[i] < upper[i],
          "Invalid bounds for gene %s: [%s, %s]",
          i,
          lower[i],
          upper[i]);
      Preconditions.checkArgument(blocks[i] >= 0, "Invalid block id for gene %s: %s", i, blocks[i]);
    }
    lower = lower.clone();
    upper = upper.clone();
    blocks = blocks.clone();
  }

  /** The same bounds on every gene, each gene its own block. */
  public static Bounds uniform(int dimension, double lower, double upper) {
    Preconditions.checkArgument(dimension > 0, "Invalid number of genes: %s", dimension);
    double[] lo = new double[dimension];
    double[] hi = new double[dimension];
    Arrays.fill(lo, lower);
    Arrays.fill(hi, upper);
    return new Bounds(lo, hi, null);
  }

  public int dimension() {
    return lower.length;
  }

  public double lower(int i) {
    return lower[i];
  }

  public double upper(int i) {
    return upper[i];
  }

  public double width(int i) {
    return upper[i] - lower[i];
  }

  public int block(int i) {
    return blocks[i];
  }

  @Override
  public double[] lower() {
    return lower.clone();
  }

  @Override
  public double[] upper() {
    return upper.clone();
  }

  @Override
  public int[] blocks() {
    return blocks.clone();
  }

  public double[] center() {
    double[] c = new double[lower.length];
    for (int i = 0; i < c.length; i++) {
      c[i] = (lower[i] + upper[i]) / 2;
    }
    return c;
  }

  public boolean contains(double[] x) {
    if (x.length != lower.length) {
      return false;
    }
    for (int i = 0; i < x.length; i++) {
      if (!(x[i] >= lower[i] && x[i] <= upper[i])) {
        return false;
      }
    }
    return true;
  }

  /**
   * Reflects a value into [lower, upper] as a mirror would (periodically, so far-out values land
   * inside too). Reflection rather than clipping keeps mass off the boundary.
   */
  public double reflect(int i, double x) {
    Preconditions.checkArgument(!Double.isNaN(x), "NaN gene %s", i);
    double lo = lower[i];
    double w = upper[i] - lo;
    if (x >= lo && x <= upper[i]) {
      return x;
    }
    if (Double.isInfinite(x)) {
      return x > 0 ? upper[i] : lo;
    }
    double y = (x - lo) % (2 * w);
    if (y < 0) {
      y += 2 * w;
    }
    double r = y <= w ? lo + y : upper[i] - (y - w);
    return Math.min(upper[i], Math.max(lo, r));
  }

  /** Reflects every gene of {@code x} into the bounds, in place; returns {@code x}. */
  public double[] repair(double[] x) {
    Preconditions.checkArgument(
        x.length == lower.length, "Got %s genes for %s bounds", x.length, lower.length);
    for (int i = 0; i < x.length; i++) {
      x[i] = reflect(i, x[i]);
    }
    return x;
  }

  double[] sample(Rng rng) {
    double[] x = new double[lower.length];
    for (int i = 0; i < x.length; i++) {
      x[i] = rng.uniform(lower[i], upper[i]);
    }
    return x;
  }

  void checkGenome(Genome g, String what) {
    Preconditions.checkArgument(
        g.size() == lower.length,
        "%s has %s genes, the space has %s",
        what,
        g.size(),
        lower.length);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Bounds b
        && Arrays.equals(lower, b.lower)
        && Arrays.equals(upper, b.upper)
        && Arrays.equals(blocks, b.blocks);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(lower) * 31 + Arrays.hashCode(upper) * 17 + Arrays.hashCode(blocks);
  }

  @Override
  public String toString() {
    return "Bounds" + Arrays.toString(lower) + Arrays.toString(upper);
  }
}
