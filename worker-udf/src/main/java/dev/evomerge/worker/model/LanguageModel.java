package dev.evomerge.worker.model;

import ai.djl.ndarray.NDArray;

/**
 * A causal language model as scoring sees it: next-token scores for a batch of token ids, with or
 * without an attention mask, and incremental decoding with a KV cache. {@link LlamaModel} (one
 * checkpoint's layers in order) and {@link LayerPathModel} (a path through several models' layers)
 * implement it. Results are created under the caller's NDScope; not thread-safe.
 */
public interface LanguageModel {
  /** Unnormalised next-token scores, F32 {@code [B, T, V]}, rows right-padded or unpadded. */
  NDArray logits(NDArray inputIds);

  /** Unnormalised next-token scores with an attention mask {@code [B, T]} (1 real, 0 padding). */
  NDArray logits(NDArray inputIds, NDArray attentionMask);

  /**
   * Next-token log-probabilities.
   *
   * @param inputIds int64 {@code [B, T]}
   * @return F32 {@code [B, T, V]}: entry {@code [b, t, v]} is log p(token t+1 = v | tokens 0..t)
   */
  default NDArray logProbs(NDArray inputIds) {
    return logits(inputIds).logSoftmax(-1);
  }

  /**
   * As {@link #logProbs(NDArray)} for positions {@code from..T-1} only, {@code [B, T-from, V]}.
   * Implementations may skip the LM head on the positions before {@code from}.
   */
  default NDArray logProbs(NDArray inputIds, int from) {
    NDArray all = logProbs(inputIds);
    return from == 0 ? all : all.get(":, " + from + ":, :");
  }

  /** As {@link #logProbs(NDArray)}, with an attention mask {@code [B, T]} (1 real, 0 padding). */
  default NDArray logProbs(NDArray inputIds, NDArray attentionMask) {
    return logits(inputIds, attentionMask).logSoftmax(-1);
  }

  /** An empty KV cache for {@code batch} rows. */
  KvCache newCache(int batch);

  /**
   * Feeds {@code inputIds} after what {@code cache} holds, appends their keys and values to it, and
   * returns the logits of the last new position, F32 {@code [B, V]}. With left padding the last
   * position is real in every row.
   *
   * @param attentionMask {@code [B, T]} for the new tokens (1 real, 0 padding), or null for all
   *     real
   */
  NDArray nextTokenLogits(NDArray inputIds, NDArray attentionMask, KvCache cache);
}
