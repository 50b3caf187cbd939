package dev.evomerge.worker.score;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.evomerge.worker.model.LanguageModel;
import java.util.List;

/**
 * Token log-likelihood of rows under a model: every token after BOS is predicted from the tokens
 * before it. Sums are accumulated in Java doubles, row by row, so the result does not depend on how
 * rows are split into shards beyond the final addition of partials.
 */
public final class LogLikelihoodScorer {
  private LogLikelihoodScorer() {}

  /**
   * @param sequences token ids, each starting with BOS; sequences of length 1 score nothing
   * @param batchSize rows per forward pass
   */
  public static ScorePartial score(
      LanguageModel model, NDManager manager, List<long[]> sequences, int batchSize) {
    double sum = 0;
    long tokens = 0;
    for (int start = 0; start < sequences.size(); start += batchSize) {
      List<long[]> batch = sequences.subList(start, Math.min(sequences.size(), start + batchSize));
      double[] perRow = scoreBatch(model, manager, batch);
      for (int i = 0; i < batch.size(); i++) {
        sum += perRow[i];
        tokens += batch.get(i).length - 1;
      }
    }
    return new ScorePartial(sum, tokens, sequences.size(), 0);
  }

  /** Sum of log-probabilities of each row's predicted tokens. */
  static double[] scoreBatch(LanguageModel model, NDManager manager, List<long[]> batch) {
    int rows = batch.size();
    int width = 1;
    for (long[] s : batch) {
      width = Math.max(width, s.length - 1);
    }
    long[] inputs = new long[rows * width];
    long[] targets = new long[rows * width];
    for (int r = 0; r < rows; r++) {
      long[] s = batch.get(r);
      for (int t = 0; t < s.length - 1; t++) {
        inputs[r * width + t] = s[t];
        targets[r * width + t] = s[t + 1];
      }
    }
    float[] logp;
    try (NDScope scope = new NDScope()) {
      scope.suppressNotUsedWarning();
      NDArray in = manager.create(inputs, new Shape(rows, width));
      NDArray tgt = manager.create(targets, new Shape(rows, width, 1));
      logp = model.logProbs(in).gather(tgt, 2).toFloatArray();
    }
    double[] out = new double[rows];
    for (int r = 0; r < rows; r++) {
      int n = batch.get(r).length - 1;
      for (int t = 0; t < n; t++) {
        out[r] += logp[r * width + t];
      }
    }
    return out;
  }
}
