package dev.evomerge.worker.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.evomerge.worker.model.LlamaConfig;
import org.junit.jupiter.api.Test;

class BatchSizingTest {
  static final LlamaConfig LLAMA_7B_LIKE =
      new LlamaConfig(
          "LlamaForCausalLM", 32000, 4096, 11008, 32, 32, 32, 128, 1e-5, 10000.0, false, 1, 2);

  @Test
  void largeVocabulariesAndLongSequencesGetSmallerBatches() {
    // 512 tokens x (64000 + 32768 + 33024 + 32768) floats x 4 bytes, about 333 MB per row
    long perRow = BatchSizing.bytesPerRow(LLAMA_7B_LIKE, 512);
    assertEquals(4L * 512 * (2 * 32000 + 8 * 4096 + 3 * 11008 + 2 * 32 * 512), perRow);
    assertEquals(3, BatchSizing.batchSize(LLAMA_7B_LIKE, 512, 4L << 30, 0.25, 64));
    assertTrue(
        BatchSizing.batchSize(LLAMA_7B_LIKE, 128, 4L << 30, 0.25, 64)
            > BatchSizing.batchSize(LLAMA_7B_LIKE, 512, 4L << 30, 0.25, 64));
    assertEquals(1, BatchSizing.batchSize(LLAMA_7B_LIKE, 4096, 1L << 20, 0.25, 64));
    assertEquals(64, BatchSizing.batchSize(LLAMA_7B_LIKE, 16, 1L << 40, 0.25, 64));
    assertTrue(BatchSizing.automatic(LLAMA_7B_LIKE, 512) >= 1);
  }

  @Test
  void automaticSizeTakesHalfTheGpusFreeMemoryOrAQuarterOfTheHosts() {
    long perRow = BatchSizing.bytesPerRow(LLAMA_7B_LIKE, 512);
    // 32 layers of 4 x 4096^2 + 3 x 4096 x 11008 + 2 norms, embeddings, head and final norm
    long params =
        32L * (4L * 4096 * 4096 + 3L * 4096 * 11008 + 2 * 4096) + 2L * 32000 * 4096 + 4096;
    assertEquals(4 * params, BatchSizing.weightBytes(LLAMA_7B_LIKE));
    long weights = 4 * params;
    // a GPU with one candidate's weights and 40 rows' worth free: half the rows; the host's
    // memory does not matter
    assertEquals(20, BatchSizing.automatic(LLAMA_7B_LIKE, 512, weights + 40 * perRow, 1L << 50));
    // on the CPU (or a GPU whose free memory is unknown): a quarter of the host's free memory
    assertEquals(10, BatchSizing.automatic(LLAMA_7B_LIKE, 512, -1, weights + 40 * perRow));
    // no room beside the weights: one row at a time
    assertEquals(1, BatchSizing.automatic(LLAMA_7B_LIKE, 512, weights / 2, 1L << 50));
    // never more than MAX_AUTOMATIC, never fewer than 1
    assertEquals(BatchSizing.MAX_AUTOMATIC, BatchSizing.automatic(LLAMA_7B_LIKE, 16, 1L << 50, 0));
    assertEquals(1, BatchSizing.automatic(LLAMA_7B_LIKE, 4096, -1, 1L << 20));
  }
}
