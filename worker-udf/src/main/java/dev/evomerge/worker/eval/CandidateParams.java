package dev.evomerge.worker.eval;

import dev.evomerge.worker.merge.MergeMethod;
import dev.evomerge.worker.merge.MergeMethods;
import dev.evomerge.worker.merge.Params;
import dev.evomerge.worker.merge.ResolvedParams;
import dev.evomerge.worker.merge.Seeds;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A genome read as merge parameters: per-model values from the genes (one set per cell of the
 * spec's {@link GeneLayout}: layer group and tensor-name filter, softmax applied), global ones
 * fixed.
 */
public final class CandidateParams {
  private final MergeMethod method;
  private final EvalSpec spec;
  private final List<List<Map<String, Object>>> perCell;
  private final List<String> models;

  /**
   * @throws IllegalArgumentException naming the parameter when the genes do not fit the method
   */
  public CandidateParams(EvalSpec spec, double[] genome) {
    GeneLayout layout = spec.layout();
    if (genome.length != spec.genomeLength()) {
      throw new IllegalArgumentException(
          String.format(
              "Genome has %d genes; %d sources x %s%s need %d",
              genome.length,
              spec.sourceUris().size(),
              spec.genes(),
              layout.cells() == 1 ? "" : " x " + layout.cells() + " cells",
              spec.genomeLength()));
    }
    this.method = MergeMethods.get(spec.method());
    this.spec = spec;
    this.models = spec.sourceUris();
    int g = spec.genes().size();
    int cells = layout.cells();
    List<List<Map<String, Object>>> byCell = new ArrayList<>();
    for (int c = 0; c < cells; c++) {
      List<Map<String, Object>> pm = new ArrayList<>();
      for (int i = 0; i < models.size(); i++) {
        Map<String, Object> values = new LinkedHashMap<>();
        for (int j = 0; j < g; j++) {
          values.put(spec.genes().get(j), genome[(i * g + j) * cells + c]);
        }
        pm.add(values);
      }
      if (layout.softmax()) {
        softmaxWeights(pm);
      }
      byCell.add(pm);
    }
    this.perCell = byCell;
    // fail here, once, rather than per tensor
    for (int c = 0; c < cells; c++) {
      Params.resolve(
          method,
          spec.global(),
          perCell.get(c),
          0,
          cells == 1 ? "(any tensor)" : "cell " + c,
          models);
    }
  }

  /** The weights of one cell become the softmax of their logits over the sources. */
  private static void softmaxWeights(List<Map<String, Object>> perModel) {
    double max = Double.NEGATIVE_INFINITY;
    for (Map<String, Object> m : perModel) {
      max = Math.max(max, (Double) m.get("weight"));
    }
    double sum = 0;
    for (Map<String, Object> m : perModel) {
      sum += StrictMath.exp((Double) m.get("weight") - max);
    }
    for (Map<String, Object> m : perModel) {
      m.put("weight", StrictMath.exp((Double) m.get("weight") - max) / sum);
    }
  }

  public MergeMethod method() {
    return method;
  }

  /** Per-model parameter values, in source order, of the first cell (the only one, unlayered). */
  public List<Map<String, Object>> perModel() {
    return perCell.get(0);
  }

  /** Per-model parameter values of cell {@code cell} of the spec's layout. */
  public List<Map<String, Object>> perModel(int cell) {
    return perCell.get(cell);
  }

  /** The resolved parameters of one tensor (its random-drop seed derives from its name). */
  public ResolvedParams resolve(String tensor) {
    return Params.resolve(
        method,
        spec.global(),
        perCell.get(spec.layout().cellOf(tensor)),
        Seeds.forTensor(spec.seed(), tensor),
        tensor,
        models);
  }
}
