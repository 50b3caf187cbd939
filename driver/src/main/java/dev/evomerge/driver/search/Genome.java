package dev.evomerge.driver.search;

import java.util.Arrays;

/** A point in the search space: one real gene per coefficient. Immutable. */
public record Genome(double[] genes) {
  public Genome {
    genes = genes.clone();
  }

  /** A copy of the genes. */
  @Override
  public double[] genes() {
    return genes.clone();
  }

  public int size() {
    return genes.length;
  }

  public double gene(int i) {
    return genes[i];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Genome g && Arrays.equals(genes, g.genes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(genes);
  }

  @Override
  public String toString() {
    return Arrays.toString(genes);
  }
}
