package dev.evomerge.worker.stats;

import com.google.common.base.Preconditions;
import java.io.Serializable;

/**
 * What to compute and within which bounds.
 *
 * @param fisher compute the diagonal Fisher information (one backward pass per sequence)
 * @param gram compute the Gram matrices of the linear layers' inputs
 * @param maxLength sequences are cut to this many tokens (BOS included)
 * @param maxGramBytes the most bytes the F32 Gram accumulators of one model may take ({@code sum
 *     over linear layers of 4 d_in^2}); more is an error naming the largest layer
 */
public record StatisticsOptions(boolean fisher, boolean gram, int maxLength, long maxGramBytes)
    implements Serializable {
  /**
   * 8 GiB of Gram accumulators: a Llama-3.2-1B's (16 layers x (6 x 2048^2 + 8192^2) x 4 bytes, 5.9
   * GB) fit; a Llama-3-8B's (39 GB) do not.
   */
  public static final long DEFAULT_MAX_GRAM_BYTES = 8L << 30;

  public StatisticsOptions {
    Preconditions.checkArgument(fisher || gram, "Statistics options compute nothing");
    Preconditions.checkArgument(maxLength >= 2, "Invalid statistics max length: %s", maxLength);
    Preconditions.checkArgument(
        maxGramBytes > 0, "Invalid statistics max Gram bytes: %s", maxGramBytes);
  }

  /** Both statistics, sequences up to {@code maxLength} tokens, the default Gram bound. */
  public static StatisticsOptions both(int maxLength) {
    return new StatisticsOptions(true, true, maxLength, DEFAULT_MAX_GRAM_BYTES);
  }
}
