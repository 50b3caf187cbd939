package dev.evomerge.driver.run;

import dev.evomerge.driver.search.Genome;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.TaskRow;
import dev.evomerge.worker.score.FitnessFunction;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * After the search: the best merge, the uniform average and each source alone, scored on the
 * held-out tasks (never used for selection), as the papers' tables compare them.
 */
public final class HeldOutEvaluation {
  private HeldOutEvaluation() {}

  /** Makes an evaluator for a spec over rows: Spark in a run, this JVM in tests. */
  @FunctionalInterface
  public interface EvaluatorFactory {
    GenerationEvaluator create(EvalSpec spec, List<TaskRow> rows);
  }

  /** One row of the table: a model, its held-out fitness and each task's metric. */
  public record Entry(String model, double fitness, Map<String, Double> metrics, String error) {}

  public static List<Entry> evaluate(
      Preflight.CheckedRun checked, Genome best, EvaluatorFactory factory) {
    FitnessFunction fitness = checked.testFitness();
    List<String> sources = checked.spec().sourceUris();
    List<Entry> out = new ArrayList<>();
    EvalSpec evolved = checked.spec().withTasks(fitness.tasks());
    try (GenerationEvaluator e = factory.create(evolved, checked.testRows())) {
      CandidateResult r =
          e.evaluate(
                  "evomerge held-out: evolved merge", List.of(new CandidateSpec(0, best.genes())))
              .get(0L);
      out.add(
          entry(
              evolved.dataFlow() == null ? "evolved merge (best)" : "evolved path (best)",
              r,
              fitness));
    }
    // uniform average and each source alone, as normalised linear merges over the same sources
    EvalSpec linear = evolved.asNormalizedLinear();
    List<CandidateSpec> baselines = new ArrayList<>();
    double[] uniform = new double[sources.size()];
    Arrays.fill(uniform, 1.0);
    baselines.add(new CandidateSpec(0, uniform));
    for (int i = 0; i < sources.size(); i++) {
      double[] alone = new double[sources.size()];
      alone[i] = 1.0;
      baselines.add(new CandidateSpec(i + 1, alone));
    }
    try (GenerationEvaluator e = factory.create(linear, checked.testRows())) {
      Map<Long, CandidateResult> results =
          e.evaluate("evomerge held-out: uniform average and sources", baselines);
      out.add(entry("uniform average", results.get(0L), fitness));
      for (int i = 0; i < sources.size(); i++) {
        out.add(entry("source " + sources.get(i), results.get(i + 1L), fitness));
      }
    }
    return out;
  }

  /**
   * A merge with fixed parameters (no search): {@code genome} holds {@code genes} per source, as
   * {@link EvalSpec#genes()} lays them out.
   */
  public record FixedMerge(
      String label,
      String method,
      List<String> genes,
      Map<String, Object> parameters,
      double[] genome) {}

  /**
   * Scores fixed merges (the papers' untuned task arithmetic, TIES, DARE-TIES) over the run's
   * sources and base on the held-out tasks, each with its method's evaluator.
   */
  public static List<Entry> evaluateFixed(
      Preflight.CheckedRun checked, List<FixedMerge> merges, EvaluatorFactory factory) {
    FitnessFunction fitness = checked.testFitness();
    EvalSpec heldOut = checked.spec().withTasks(fitness.tasks());
    List<Entry> out = new ArrayList<>();
    for (FixedMerge m : merges) {
      EvalSpec spec = heldOut.withMerge(m.method(), m.genes(), m.parameters());
      try (GenerationEvaluator e = factory.create(spec, checked.testRows())) {
        CandidateResult r =
            e.evaluate("evomerge held-out: " + m.label(), List.of(new CandidateSpec(0, m.genome())))
                .get(0L);
        out.add(entry(m.label(), r, fitness));
      }
    }
    return out;
  }

  private static Entry entry(String model, CandidateResult r, FitnessFunction fitness) {
    if (r.isFailed()) {
      return new Entry(model, Double.NaN, Map.of(), r.error());
    }
    return new Entry(
        model, fitness.fitness(r.tasks()), new LinkedHashMap<>(fitness.metrics(r.tasks())), null);
  }
}
