package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.List;

/** Uniform random sampling in the bounds: the baseline every other strategy is compared to. */
public final class RandomSearch extends AbstractStrategy {
  private final int batch;

  public RandomSearch(Bounds bounds, int batch, long seed) {
    super(bounds, seed);
    Preconditions.checkArgument(batch > 0, "Invalid batch size: %s", batch);
    this.batch = batch;
  }

  @Override
  List<Genome> propose() {
    List<Genome> out = new ArrayList<>(batch);
    for (int i = 0; i < batch; i++) {
      out.add(new Genome(bounds.sample(rng)));
    }
    return out;
  }

  @Override
  void learn(List<Genome> candidates, double[] fitness) {}
}
