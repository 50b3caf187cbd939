package dev.evomerge.driver.run;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.driver.config.RunSettings;
import dev.evomerge.driver.search.Bounds;
import dev.evomerge.driver.search.DataFlowSpace;
import dev.evomerge.driver.search.Evaluated;
import dev.evomerge.driver.search.Genome;
import dev.evomerge.driver.search.SearchRun;
import dev.evomerge.driver.search.StoppingRules;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.DataFlowSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.LayerPathWriter;
import dev.evomerge.worker.merge.MergeRecipe;
import dev.evomerge.worker.merge.RecipeYaml;
import dev.evomerge.worker.model.LayerPathModel;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The parts of a run that differ in a data-flow search (evomerge.search.space = dataflow): the
 * search space, the dev mini-batch each generation is scored on, choosing the snapshot on the
 * held-out dev slice, and writing the best path.
 */
final class DataFlowRun {
  /** Indicator value of a slot in (and out of) the start genome's path. */
  private static final double IN = 0.5;

  private DataFlowRun() {}

  /** The layer-path search: CMA-ES (or the configured strategy) from the embedding model. */
  static SearchRun newSearch(RunSettings settings, DataFlowSpec flow) {
    RunSettings.SearchSettings s = settings.search();
    RunSettings.DataFlowSettings d = settings.dataFlow();
    Bounds bounds =
        DataFlowSpace.bounds(flow.slots(), flow.layers().size(), d.scaleLower(), d.scaleUpper());
    double[] start = flow.embeddingModelGenome(-IN, IN);
    for (int i = flow.slots(); i < start.length; i++) {
      start[i] = Math.min(Math.max(start[i], d.scaleLower()), d.scaleUpper());
    }
    StoppingRules stopping =
        new StoppingRules(s.maxEvaluations(), null, s.plateauGenerations(), s.plateauThreshold());
    try {
      return DataFlowSpace.search(
          new SearchRun.Spec(s.strategy(), s.options(), settings.seed()), bounds, start, stopping);
    } catch (IllegalArgumentException e) {
      throw new RunError(
          String.format(
              "Invalid data-flow search for evomerge.search.strategy = %s with"
                  + " evomerge.search.options %s: %s",
              s.strategy(), s.options(), e.getMessage()),
          e);
    }
  }

  /**
   * What a candidate of generation {@code generation} carries: the genome, then in a data-flow
   * search with mini-batches or a held-out slice the mini-batch it is scored on.
   */
  static double[] candidateGenes(EvalSpec spec, Genome genome, int generation) {
    DataFlowSpec flow = spec.dataFlow();
    if (flow == null || (flow.miniBatches() == 1 && flow.holdout() == 0)) {
      return genome.genes();
    }
    double[] out = Arrays.copyOf(genome.genes(), genome.size() + 1);
    out[genome.size()] = generation % flow.miniBatches();
    return out;
  }

  /**
   * With a held-out dev slice: every generation's best is scored on it and the best there is the
   * run's result (its fitness the slice's); without one, {@code result} as is.
   */
  static GenerationLoop.Result chooseSnapshot(
      GenerationLoop.Result result,
      List<Evaluated> snapshots,
      Preflight.CheckedRun checked,
      GenerationEvaluator evaluator,
      PrintStream console) {
    DataFlowSpec flow = checked.spec().dataFlow();
    if (flow.holdout() == 0 || result.best() == null) {
      return result;
    }
    List<Genome> distinct = new ArrayList<>();
    for (Evaluated e : snapshots) {
      if (!distinct.contains(e.genome())) {
        distinct.add(e.genome());
      }
    }
    if (!distinct.contains(result.best().genome())) {
      distinct.add(result.best().genome());
    }
    List<CandidateSpec> candidates = new ArrayList<>();
    for (int i = 0; i < distinct.size(); i++) {
      double[] genes = Arrays.copyOf(distinct.get(i).genes(), distinct.get(i).size() + 1);
      genes[genes.length - 1] = DataFlowSpec.HOLDOUT;
      candidates.add(new CandidateSpec(i, genes));
    }
    Map<Long, CandidateResult> results =
        evaluator.evaluate(
            "evomerge snapshots on the held-out dev slice · " + candidates.size() + " paths",
            candidates);
    Evaluated chosen = null;
    for (int i = 0; i < distinct.size(); i++) {
      CandidateResult r = results.get((long) i);
      double f = r == null || r.isFailed() ? Double.NaN : checked.fitness().fitness(r.tasks());
      if (Double.isFinite(f) && (chosen == null || f > chosen.fitness())) {
        chosen = new Evaluated(distinct.get(i), f);
      }
    }
    if (chosen == null) {
      throw new RunError("Every snapshot failed on the held-out dev slice");
    }
    console.printf(
        Locale.ROOT,
        "snapshot chosen on the held-out dev slice (%d snapshots): fitness %.5f%n",
        distinct.size(),
        chosen.fitness());
    return new GenerationLoop.Result(chosen, result.generations());
  }

  /** The hashed identity of a candidate's path (for history.jsonl's recipe_hash). */
  static String describe(EvalSpec spec, double[] genes) {
    DataFlowSpec flow = spec.dataFlow();
    StringBuilder out = new StringBuilder("dataflow");
    out.append(spec.sourceUris()).append(" embedding ").append(flow.embedding());
    out.append(" head ").append(flow.head());
    for (LayerPathModel.Hop h : flow.path(genes)) {
      out.append(' ').append(h.source()).append(':').append(h.layer()).append('x');
      out.append(h.scale());
    }
    return out.toString();
  }

  /** {@code best/} (the path as an HF checkpoint, recipe.yaml when mergekit can express it). */
  static void writeBest(
      RunSettings settings,
      Preflight.CheckedRun checked,
      Evaluated best,
      RunFolder folder,
      PrintStream console) {
    EvalSpec spec = checked.spec();
    DataFlowSpec flow = spec.dataFlow();
    double[] genome = best.genome().genes();
    List<LayerPathModel.Hop> hops = flow.path(genome);
    ObjectNode provenance = RunFolder.JSON.createObjectNode();
    ObjectNode origin = provenance.putObject("evomerge");
    origin.put("search_space", "dataflow");
    origin.put("fitness", best.fitness());
    origin.put("seed", settings.seed());
    origin.put("embedding_model", spec.sourceUris().get(flow.embedding()));
    origin.put("head_model", spec.sourceUris().get(flow.head()));
    ArrayNode path = origin.putArray("path");
    for (LayerPathModel.Hop h : hops) {
      path.addObject()
          .put("model", spec.sourceUris().get(h.source()))
          .put("layer", h.layer())
          .put("scale", h.scale());
    }
    ArrayNode genes = origin.putArray("genome");
    for (double g : genome) {
      genes.add(g);
    }
    LayerPathWriter.write(
        spec, genome, folder.bestModelDir(), GenerationLoop.writeOptions(settings), provenance);
    MergeRecipe recipe = LayerPathWriter.recipe(spec, genome, settings.outDtype());
    if (recipe != null) {
      folder.writeText("best/recipe.yaml", RecipeYaml.write(recipe));
    }
    folder.writeJson("best.json", origin);
    StringBuilder shown = new StringBuilder();
    for (LayerPathModel.Hop h : hops) {
      shown.append(shown.length() == 0 ? "" : " ").append(h.source()).append('.').append(h.layer());
      if (h.scale() != 1f) {
        shown.append(String.format(Locale.ROOT, "x%.2f", h.scale()));
      }
    }
    console.printf(
        Locale.ROOT,
        "best fitness %.5f with a path of %d layers [%s] -> %s%n",
        best.fitness(),
        hops.size(),
        shown,
        folder.bestModelDir());
  }
}
