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
 * Scores candidates on dev shards: each candidate is materialised once from the resident sources,
 * scored on every given shard's rows of every task, and its weights released before the next.
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
    Map<Long, CandidateResult> out = new LinkedHashMap<>();
    evaluateShards(spec, candidates, List.of(shard), device)
        .forEach((id, perShard) -> out.put(id, perShard.get(0)));
    return out;
  }

  /**
   * Per candidate id (in candidate order), one result per shard (in shard order), each as {@link
   * #evaluate(EvalSpec, List, List, TaskDevice)} gives it for that shard alone, bit for bit; the
   * candidate is materialised once for all shards. The materialisation's time is in the first
   * shard's result; a candidate whose materialisation throws is failed on every shard.
   */
  public static Map<Long, List<CandidateResult>> evaluateShards(
      EvalSpec spec,
      List<CandidateSpec> candidates,
      List<List<TaskRow>> shards,
      TaskDevice device) {
    try (ResidentCache<ResidentSources>.Lease lease =
        ResidentSources.acquire(spec, device.device())) {
      return evaluateShards(spec, candidates, shards, device, lease.value());
    }
  }

  private static Map<String, List<TaskExample>> rowsByTask(EvalSpec spec, List<TaskRow> shard) {
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
    return rows;
  }

  /** A shard's rows by task, tokenised once per (data-flow mini-batch) and reused by candidates. */
  private static final class PreparedShard {
    final Map<String, List<TaskExample>> rows;
    final Map<Integer, List<TaskScorer.PreparedTask>> byBatch = new HashMap<>();
    final Map<Integer, Integer> batchSizes = new HashMap<>();

    PreparedShard(Map<String, List<TaskExample>> rows) {
      this.rows = rows;
    }
  }

  private static Map<Long, List<CandidateResult>> evaluateShards(
      EvalSpec spec,
      List<CandidateSpec> candidates,
      List<List<TaskRow>> shards,
      TaskDevice device,
      ResidentSources sources) {
    List<PreparedShard> prepared = new ArrayList<>();
    for (List<TaskRow> shard : shards) {
      prepared.add(new PreparedShard(rowsByTask(spec, shard)));
    }
    DataFlowSpec flow = spec.dataFlow();
    Map<Long, List<CandidateResult>> out = new LinkedHashMap<>();
    for (CandidateSpec candidate : candidates) {
      int batch = flow == null ? DataFlowSpec.ALL : flow.batch(candidate.weights());
      // tokenised once per shard (per dev mini-batch in a data-flow search); each candidate only
      // runs forward passes
      List<List<TaskScorer.PreparedTask>> tasks = new ArrayList<>();
      List<Integer> batchSizes = new ArrayList<>();
      for (PreparedShard shard : prepared) {
        List<TaskScorer.PreparedTask> t =
            shard.byBatch.computeIfAbsent(batch, b -> prepare(spec, sources, shard.rows, flow, b));
        tasks.add(t);
        batchSizes.add(
            shard.batchSizes.computeIfAbsent(
                batch, b -> batchSize(spec, sources.config(), t, device)));
      }
      List<CandidateResult> results = new ArrayList<>(shards.size());
      long start = System.nanoTime();
      try (NDManager weightsManager = sources.manager().newSubManager();
          NDScope scope = new NDScope()) {
        scope.suppressNotUsedWarning();
        LanguageModel model = materialise(spec, sources, candidate, weightsManager);
        for (int i = 0; i < tasks.size(); i++) {
          results.add(score(spec, sources, model, tasks.get(i), batchSizes.get(i), start, device));
          start = System.nanoTime();
        }
      } catch (RuntimeException e) {
        String error = e.getClass().getSimpleName() + ": " + e.getMessage();
        long nanos = System.nanoTime() - start;
        // the shards scored before the failure keep their results; the rest carry the error
        while (results.size() < shards.size()) {
          results.add(CandidateResult.failed(error, nanos, device.note()));
          nanos = 0;
        }
      }
      out.put(candidate.id(), List.copyOf(results));
    }
    return out;
  }

  /** The candidate's model over the resident sources (for a data-flow path, nothing is merged). */
  private static LanguageModel materialise(
      EvalSpec spec, ResidentSources sources, CandidateSpec candidate, NDManager weightsManager) {
    DataFlowSpec flow = spec.dataFlow();
    if (flow != null) {
      return new LayerPathModel(
          sources.sourceModels(), flow.embedding(), flow.head(), flow.path(candidate.weights()));
    }
    if (spec.population() != null) {
      // Evolver's mode: the candidate is a population of linear combinations, merged
      return new LlamaModel(sources.config(), population(spec, sources, candidate, weightsManager));
    }
    CandidateParams params = new CandidateParams(spec, candidate.weights());
    Map<String, NDArray> weights = new LinkedHashMap<>();
    for (PreparedTensor t : sources.tensors().values()) {
      weights.put(
          t.name(),
          MergeEngine.combine(params.method(), t, params.resolve(t.name()), weightsManager));
    }
    return new LlamaModel(sources.config(), weights);
  }

  /** One shard's result for a materialised candidate; {@code start} is when its timing began. */
  private static CandidateResult score(
      EvalSpec spec,
      ResidentSources sources,
      LanguageModel model,
      List<TaskScorer.PreparedTask> prepared,
      int batchSize,
      long start,
      TaskDevice device) {
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
    return problem == null
        ? CandidateResult.ok(partials, examples, nanos, device.note(), batchSize)
        : CandidateResult.failed(problem, nanos, device.note());
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
