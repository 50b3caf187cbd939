package dev.evomerge.worker.score;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.evomerge.worker.model.LanguageModel;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Log-likelihood of continuations given contexts, batched: requests are sorted by length so each
 * batch holds similar lengths (little padding), right-padded (positions stay 0..T-1 and the causal
 * mask keeps real tokens from seeing the padding), and results returned in request order.
 */
final class ContinuationScorer {
  private ContinuationScorer() {}

  /**
   * A token sequence whose last {@code scored} tokens are scored, each given all before it.
   *
   * @param tokens at least {@code scored + 1} ids
   */
  record Request(long[] tokens, int scored) {
    Request {
      if (tokens.length == 0 || scored < 0 || scored > tokens.length - 1) {
        throw new IllegalArgumentException(
            String.format("Cannot score %d of %d tokens", scored, tokens.length));
      }
    }

    /** {@code context + continuation}, cut from the left to {@code maxLength} tokens. */
    static Request of(long[] context, long[] continuation, int maxLength) {
      long[] all = new long[context.length + continuation.length];
      System.arraycopy(context, 0, all, 0, context.length);
      System.arraycopy(continuation, 0, all, context.length, continuation.length);
      if (all.length > maxLength) {
        all = Arrays.copyOfRange(all, all.length - maxLength, all.length);
      }
      return new Request(all, Math.min(continuation.length, all.length - 1));
    }
  }

  /** Per request: sum of log-probabilities of the scored tokens. */
  static double[] score(
      LanguageModel model, NDManager manager, List<Request> requests, int batchSize) {
    double[] out = new double[requests.size()];
    Integer[] order = IntStream.range(0, requests.size()).boxed().toArray(Integer[]::new);
    Arrays.sort(order, Comparator.comparingInt((Integer i) -> -requests.get(i).tokens().length));
    for (int start = 0; start < order.length; start += batchSize) {
      int end = Math.min(order.length, start + batchSize);
      int rows = end - start;
      int width = 1;
      for (int i = start; i < end; i++) {
        width = Math.max(width, requests.get(order[i]).tokens().length - 1);
      }
      // the first position any row of the batch scores: the LM head skips those before it
      int from = width - 1;
      for (int i = start; i < end; i++) {
        Request q = requests.get(order[i]);
        from = Math.min(from, q.tokens().length - 1 - q.scored());
      }
      int kept = width - from;
      long[] inputs = new long[rows * width];
      long[] targets = new long[rows * kept];
      for (int r = 0; r < rows; r++) {
        long[] s = requests.get(order[start + r]).tokens();
        for (int t = 0; t < s.length - 1; t++) {
          inputs[r * width + t] = s[t];
          if (t >= from) {
            targets[r * kept + t - from] = s[t + 1];
          }
        }
      }
      float[] logp;
      try (NDScope scope = new NDScope()) {
        scope.suppressNotUsedWarning();
        NDArray in = manager.create(inputs, new Shape(rows, width));
        NDArray tgt = manager.create(targets, new Shape(rows, kept, 1));
        logp = model.logProbs(in, from).gather(tgt, 2).toFloatArray();
      }
      for (int r = 0; r < rows; r++) {
        Request q = requests.get(order[start + r]);
        int n = q.tokens().length - 1;
        double sum = 0;
        for (int t = n - q.scored(); t < n; t++) {
          sum += logp[r * kept + t - from];
        }
        out[order[start + r]] = sum;
      }
    }
    return out;
  }
}
