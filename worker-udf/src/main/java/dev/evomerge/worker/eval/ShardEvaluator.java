package dev.evomerge.worker.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.evomerge.worker.merge.MergeEngine;
import dev.evomerge.worker.merge.PreparedTensor;
import dev.evomerge.worker.model.LanguageModel;
import dev.evomerge.worker.model.LayerPathModel;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.LlamaModel;
import dev.evomerge.worker.score.BatchSizing;
import dev.evomerge.worker.score.ExampleScores;
import dev.evomerge.worker.score.TaskExample;
import dev.evomerge.worker.score.TaskPartial;
import dev.evomerge.worker.score.TaskResult;
import dev.evomerge.worker.score.TaskScorer;
import dev.evomerge.worker.score.TaskSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores candidates on one dev shard: each candidate is materialised from the resident sources,
 * scored on the shard's rows of every task, and its weights released before the next.
 */
public final class ShardEvaluator {
  private ShardEvaluator() {}

  /**
   * Results per candidate id, in candidate order. A candidate whose materialisation or scoring
   * throws, or whose log-likelihood is not finite (NaN weights, overflow), is reported failed and
   * the next candidate goes on; a failure to load the sources fails the whole task.
   */
  public static Map<Long, CandidateResult> evaluate(
      EvalSpec spec, List<CandidateSpec> candidates, List<TaskRow> shard) {
    return evaluate(spec, candidates, shard, TaskDevice.cpu());
  }

  /** As {@link #evaluate(EvalSpec, List, List)}, on {@code device}. */
  public static Map<Long, CandidateResult> evaluate(
      EvalSpec spec, List<CandidateSpec> candidates, List<TaskRow> shard, TaskDevice device) {
    try (ResidentCache<ResidentSources>.Lease lease =
        ResidentSources.acquire(spec, device.device())) {
      return evaluate(spec, candidates, shard, device, lease.value());
    }
  }

  private static Map<Long, CandidateResult> evaluate(
      EvalSpec spec,
      List<CandidateSpec> candidates,
      List<TaskRow> shard,
      TaskDevice device,
      ResidentSources sources) {
    Map<String, List<TaskExample>> rows = new LinkedHashMap<>();
    for (TaskSpec task : spec.tasks()) {
      rows.put(task.name(), new ArrayList<>());
    }
    for (TaskRow row : shard) {
      List<TaskExample> list = rows.get(row.task());
      if (list == null) {
        throw new IllegalArgumentException("Dev row of unknown task " + row.task());
      }
      list.add(row.example());
    }
    // tokenised once per shard (per dev mini-batch in a data-flow search); each candidate only
    // runs forward passes
    DataFlowSpec flow = spec.dataFlow();
    Map<Integer, List<TaskScorer.PreparedTask>> preparedByBatch = new HashMap<>();
    Map<Integer, Integer> batchSizes = new HashMap<>();
    Map<Long, CandidateResult> out = new LinkedHashMap<>();
    for (CandidateSpec candidate : candidates) {
      int batch = flow == null ? DataFlowSpec.ALL : flow.batch(candidate.weights());
      List<TaskScorer.PreparedTask> prepared =
          preparedByBatch.computeIfAbsent(batch, b -> prepare(spec, sources, rows, flow, b));
      int batchSize =
          batchSizes.computeIfAbsent(
              batch, b -> batchSize(spec, sources.config(), prepared, device));
      long start = System.nanoTime();
      try (NDManager weightsManager = sources.manager().newSubManager();
          NDScope scope = new NDScope()) {
        scope.suppressNotUsedWarning();
        LanguageModel model;
        if (flow != null) {
          // a path over the resident sources' layers: nothing is materialised
          model =
              new LayerPathModel(
                  sources.sourceModels(),
                  flow.embedding(),
                  flow.head(),
                  flow.path(candidate.weights()));
        } else if (spec.population() != null) {
          // Evolver's mode: the candidate is a population of linear combinations, merged
          model =
              new LlamaModel(
                  sources.config(), population(spec, sources, candidate, weightsManager));
        } else {
          CandidateParams params = new CandidateParams(spec, candidate.weights());
          Map<String, NDArray> weights = new LinkedHashMap<>();
          for (PreparedTensor t : sources.tensors().values()) {
            weights.put(
                t.name(),
                MergeEngine.combine(params.method(), t, params.resolve(t.name()), weightsManager));
          }
          model = new LlamaModel(sources.config(), weights);
        }
        Map<String, TaskPartial> partials = new LinkedHashMap<>();
        Map<String, ExampleScores> examples = new LinkedHashMap<>();
        String problem = null;
        for (TaskScorer.PreparedTask task : prepared) {
          TaskResult r =
              TaskScorer.score(model, sources.manager(), sources.tokenizer(), task, batchSize);
          TaskPartial p = r.partial();
          if (spec.recordExamples()) {
            examples.put(task.spec().name(), ExampleScores.of(task.spec().name(), r.examples()));
          }
          if (!Double.isFinite(p.sumLogLik())) {
            problem =
                "non-finite log-likelihood "
                    + p.sumLogLik()
                    + " on task "
                    + task.spec().name()
                    + " (NaN or huge weights?)";
          }
          partials.put(task.spec().name(), p);
        }
        long nanos = System.nanoTime() - start;
        out.put(
            candidate.id(),
            problem == null
                ? CandidateResult.ok(partials, examples, nanos, device.note(), batchSize)
                : CandidateResult.failed(problem, nanos, device.note()));
      } catch (RuntimeException e) {
        out.put(
            candidate.id(),
            CandidateResult.failed(
                e.getClass().getSimpleName() + ": " + e.getMessage(),
                System.nanoTime() - start,
                device.note()));
      }
    }
    return out;
  }

  /** A population candidate's merged weights, tensor by tensor (see {@link PopulationSpec}). */
  static Map<String, NDArray> population(
      EvalSpec spec, ResidentSources sources, CandidateSpec candidate, NDManager out) {
    PopulationSpec p = spec.population();
    dev.evomerge.worker.merge.MergeMethod method =
        dev.evomerge.worker.merge.MergeMethods.get(p.method());
    double[] genome = candidate.weights();
    Map<String, NDArray> weights = new LinkedHashMap<>();
    for (PreparedTensor t : sources.tensors().values()) {
      weights.put(
          t.name(),
          dev.evomerge.worker.merge.PopulationMerge.combine(
              method, p.parameters(), t, PopulationSpec.coefficients(spec, genome, t.name()), out));
    }
    return weights;
  }

  /**
   * The spec's batch size, or when it is 0 the automatic one for this shard's longest sequence on
   * {@code device}.
   */
  static int batchSize(
      EvalSpec spec,
      LlamaConfig config,
      List<TaskScorer.PreparedTask> prepared,
      TaskDevice device) {
    if (spec.batchSize() > 0) {
      return spec.batchSize();
    }
    int longest = 1;
    for (TaskScorer.PreparedTask task : prepared) {
      longest = Math.max(longest, task.longestSequence());
    }
    return BatchSizing.automatic(config, Math.min(longest, spec.maxLength()), device.device());
  }

  private static List<TaskScorer.PreparedTask> prepare(
      EvalSpec spec,
      ResidentSources sources,
      Map<String, List<TaskExample>> rows,
      DataFlowSpec flow,
      int batch) {
    List<TaskScorer.PreparedTask> prepared = new ArrayList<>();
    for (TaskSpec task : spec.tasks()) {
      List<TaskExample> taskRows = rows.get(task.name());
      if (flow != null && batch != DataFlowSpec.ALL) {
        taskRows =
            taskRows.stream()
                .filter(x -> flow.inBatch(new TaskRow(task.name(), x), batch))
                .toList();
      }
      prepared.add(TaskScorer.prepare(sources.tokenizer(), task, taskRows, spec.maxLength()));
    }
    return prepared;
  }
}
