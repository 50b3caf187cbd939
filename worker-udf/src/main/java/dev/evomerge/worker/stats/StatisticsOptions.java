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
 *     over linear layers of 4 d_in^2}, or with blocks {@code 4 d_in b}); more is an error naming
 *     the largest layer
 * @param gramBlock 0 for full Gram matrices; else a layer with {@code d_in > gramBlock} keeps only
 *     the diagonal blocks of {@code gramBlock x gramBlock} of its Gram matrix, stored as {@code
 *     [d_in / b, b, b]} (block-diagonal RegMean: {@code 4 d_in b} bytes instead of {@code 4
 *     d_in^2}); {@code gramBlock} must divide such a layer's {@code d_in}
 */
public record StatisticsOptions(
    boolean fisher, boolean gram, int maxLength, long maxGramBytes, int gramBlock)
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
    Preconditions.checkArgument(gramBlock >= 0, "Invalid statistics Gram block: %s", gramBlock);
  }

  /** Full Gram matrices. */
  public StatisticsOptions(boolean fisher, boolean gram, int maxLength, long maxGramBytes) {
    this(fisher, gram, maxLength, maxGramBytes, 0);
  }

  /** The block size of a layer with {@code in} inputs: {@code in} itself unless blocked. */
  public long gramBlockOf(long in) {
    return gramBlock > 0 && in > gramBlock ? gramBlock : in;
  }

  /** The stored shape of the Gram matrix of a layer with {@code in} inputs. */
  public long[] gramShape(long in) {
    long b = gramBlockOf(in);
    return b == in ? new long[] {in, in} : new long[] {in / b, b, b};
  }

  /** Both statistics, sequences up to {@code maxLength} tokens, the default Gram bound. */
  public static StatisticsOptions both(int maxLength) {
    return new StatisticsOptions(true, true, maxLength, DEFAULT_MAX_GRAM_BYTES);
  }
}
