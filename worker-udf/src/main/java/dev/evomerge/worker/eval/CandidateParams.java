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

/** A genome read as merge parameters: per-model values from the genes, global ones fixed. */
public final class CandidateParams {
  private final MergeMethod method;
  private final EvalSpec spec;
  private final List<Map<String, Object>> perModel;
  private final List<String> models;

  /**
   * @throws IllegalArgumentException naming the parameter when the genes do not fit the method
   */
  public CandidateParams(EvalSpec spec, double[] genome) {
    if (genome.length != spec.genomeLength()) {
      throw new IllegalArgumentException(
          String.format(
              "Genome has %d genes; %d sources x %s need %d",
              genome.length, spec.sourceUris().size(), spec.genes(), spec.genomeLength()));
    }
    this.method = MergeMethods.get(spec.method());
    this.spec = spec;
    this.models = spec.sourceUris();
    List<Map<String, Object>> pm = new ArrayList<>();
    int g = spec.genes().size();
    for (int i = 0; i < models.size(); i++) {
      Map<String, Object> values = new LinkedHashMap<>();
      for (int j = 0; j < g; j++) {
        values.put(spec.genes().get(j), genome[i * g + j]);
      }
      pm.add(values);
    }
    this.perModel = pm;
    resolve("(any tensor)"); // fail here, once, rather than per tensor
  }

  public MergeMethod method() {
    return method;
  }

  /** Per-model parameter values, in source order. */
  public List<Map<String, Object>> perModel() {
    return perModel;
  }

  /** The resolved parameters of one tensor (its random-drop seed derives from its name). */
  public ResolvedParams resolve(String tensor) {
    return Params.resolve(
        method, spec.global(), perModel, Seeds.forTensor(spec.seed(), tensor), tensor, models);
  }
}
