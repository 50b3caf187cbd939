package dev.evomerge.worker.score;

import dev.evomerge.worker.model.LlamaConfig;
import java.lang.management.ManagementFactory;

/**
 * A default batch size from the memory a forward pass needs per row, so scoring neither runs out of
 * memory on large vocabularies nor wastes throughput on small models.
 */
public final class BatchSizing {
  private BatchSizing() {}

  /**
   * F32 bytes live per row of {@code seqLen} tokens at the peak of a scoring forward pass: logits
   * and log-probabilities ({@code 2 V}), a layer's activations (about {@code 8 H + 3 I}) and its
   * attention scores and probabilities ({@code 2 heads T}), all per token.
   */
  public static long bytesPerRow(LlamaConfig c, int seqLen) {
    long perToken =
        2L * c.vocabSize()
            + 8L * c.hiddenSize()
            + 3L * c.intermediateSize()
            + 2L * c.numHeads() * seqLen;
    return 4L * perToken * seqLen;
  }

  /** Rows that fit in {@code fraction} of {@code freeBytes}, between 1 and {@code max}. */
  public static int batchSize(LlamaConfig c, int seqLen, long freeBytes, double fraction, int max) {
    long rows = (long) (freeBytes * fraction) / Math.max(1, bytesPerRow(c, seqLen));
    return (int) Math.max(1, Math.min(max, rows));
  }

  /** As above with this machine's free physical memory, a quarter of it, at most 64 rows. */
  public static int automatic(LlamaConfig c, int seqLen) {
    long free = Runtime.getRuntime().maxMemory();
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      free = os.getFreeMemorySize();
    }
    return batchSize(c, seqLen, free, 0.25, 64);
  }
}
