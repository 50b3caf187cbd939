package dev.evomerge.worker.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.evomerge.worker.merge.MergeEngine;
import dev.evomerge.worker.merge.PreparedTensor;
import dev.evomerge.worker.model.LlamaModel;
import dev.evomerge.worker.score.DevExample;
import dev.evomerge.worker.score.LogLikelihoodScorer;
import dev.evomerge.worker.score.ScorePartial;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores candidates on one dev shard: the shard is tokenised once, then each candidate is
 * materialised from the resident sources, scored, and its weights released before the next.
 */
public final class ShardEvaluator {
  private ShardEvaluator() {}

  /**
   * Results per candidate id, in candidate order. A candidate whose materialisation or scoring
   * throws, or whose score is not finite (NaN weights, overflow), is reported failed and the next
   * candidate goes on; a failure to load the sources or read the shard fails the whole task.
   */
  public static Map<Long, CandidateResult> evaluate(
      EvalSpec spec, List<CandidateSpec> candidates, List<DevExample> shard) {
    return evaluate(spec, candidates, shard, TaskDevice.cpu());
  }

  /** As {@link #evaluate(EvalSpec, List, List)}, on {@code device}. */
  public static Map<Long, CandidateResult> evaluate(
      EvalSpec spec, List<CandidateSpec> candidates, List<DevExample> shard, TaskDevice device) {
    ResidentSources sources = ResidentSources.get(spec, device.device());
    List<long[]> sequences = new ArrayList<>(shard.size());
    for (DevExample row : shard) {
      sequences.add(sources.tokenizer().encodeWithBos(row.text(), spec.maxLength()));
    }
    Map<Long, CandidateResult> out = new LinkedHashMap<>();
    for (CandidateSpec candidate : candidates) {
      long start = System.nanoTime();
      try (NDManager weightsManager = sources.manager().newSubManager();
          NDScope scope = new NDScope()) {
        scope.suppressNotUsedWarning();
        CandidateParams params = new CandidateParams(spec, candidate.weights());
        Map<String, NDArray> weights = new LinkedHashMap<>();
        for (PreparedTensor t : sources.tensors().values()) {
          weights.put(
              t.name(),
              MergeEngine.combine(params.method(), t, params.resolve(t.name()), weightsManager));
        }
        LlamaModel model = new LlamaModel(sources.config(), weights);
        ScorePartial score =
            LogLikelihoodScorer.score(model, sources.manager(), sequences, spec.batchSize());
        long nanos = System.nanoTime() - start;
        out.put(
            candidate.id(),
            Double.isFinite(score.sumLogLik())
                ? CandidateResult.ok(
                    new ScorePartial(score.sumLogLik(), score.tokens(), score.examples(), nanos),
                    device.note())
                : CandidateResult.failed(
                    "non-finite log-likelihood " + score.sumLogLik() + " (NaN or huge weights?)",
                    nanos,
                    device.note()));
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
}
