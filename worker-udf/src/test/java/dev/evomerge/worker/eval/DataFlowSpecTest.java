package dev.evomerge.worker.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.evomerge.worker.model.LayerPathModel.Hop;
import dev.evomerge.worker.score.TaskExample;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class DataFlowSpecTest {
  // two sources of 3 and 4 layers, repeated twice: T = 14 slots, then a 2 x 2 scaling matrix
  private final DataFlowSpec flow = new DataFlowSpec(List.of(3, 4), 2, 1, 0, 3, 0.25, 7);

  @Test
  void slotsLayTheSourcesLayersOutInOrderRepeated() {
    assertEquals(14, flow.slots());
    assertEquals(18, flow.genomeLength());
    assertArrayEquals(new int[] {0, 0}, flow.slot(0));
    assertArrayEquals(new int[] {0, 2}, flow.slot(2));
    assertArrayEquals(new int[] {1, 0}, flow.slot(3));
    assertArrayEquals(new int[] {1, 3}, flow.slot(6));
    assertArrayEquals(new int[] {0, 0}, flow.slot(7));
    assertArrayEquals(new int[] {1, 3}, flow.slot(13));
    assertEquals(14 + 2 + 1, flow.scaleGene(1, 1));
  }

  @Test
  void thePathIsTheIncludedSlotsBetweenTheEmbeddingModelsEndsScaledByW() {
    double[] g = new double[flow.genomeLength()];
    Arrays.fill(g, 0, flow.slots(), -1);
    g[2] = 0.3; // source 0 layer 2
    g[2 + 7] = 0.1; // source 0 layer 2 again, second repeat
    g[4] = 0.0; // exactly 0 is out
    g[flow.scaleGene(0, 0)] = 0.5;
    g[flow.scaleGene(0, 1)] = 1.5;
    g[flow.scaleGene(1, 0)] = 0.25;
    g[flow.scaleGene(1, 1)] = 1.0;
    List<Hop> path = flow.path(g);
    assertEquals(
        List.of(
            new Hop(1, 0, 1f), // embedding model's first layer, embeddings unscaled
            new Hop(0, 2, 0.25f), // from model 1 into model 0
            new Hop(0, 2, 0.5f), // 0 -> 0
            new Hop(1, 3, 1.5f)), // 0 -> 1, embedding model's last layer
        path);
    // a trailing mini-batch value does not change the path
    double[] withBatch = Arrays.copyOf(g, g.length + 1);
    withBatch[g.length] = 2;
    assertEquals(path, flow.path(withBatch));
    assertEquals(2, flow.batch(withBatch));
    assertEquals(DataFlowSpec.ALL, flow.batch(g));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> flow.path(new double[5]));
    assertTrue(e.getMessage().contains("14 slots + 4 scales need 18"), e.getMessage());
  }

  @Test
  void theStartGenomeIsTheEmbeddingModelsOwnLayersInOrderWithScalesOne() {
    List<Hop> path = flow.path(flow.embeddingModelGenome(-0.5, 0.5));
    List<Hop> own = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      own.add(new Hop(1, i, 1f));
    }
    assertEquals(own, path);
  }

  @Test
  void everyRowIsInTheHeldOutSliceOrInExactlyOneMiniBatch() {
    int[] counts = new int[4];
    for (int i = 0; i < 400; i++) {
      TaskRow row = new TaskRow("dev", TaskExample.text(i, "row " + i));
      int in = 0;
      for (int b = -1; b < 3; b++) {
        if (flow.inBatch(row, b)) {
          in++;
          counts[b + 1]++;
        }
      }
      assertEquals(1, in, "row " + i);
      assertTrue(flow.inBatch(row, DataFlowSpec.ALL));
      // batch numbers wrap: generation 4 uses batch 1
      assertEquals(flow.inBatch(row, 1), flow.inBatch(row, 4));
    }
    assertTrue(counts[0] > 70 && counts[0] < 130, "held out " + counts[0] + " of 400");
    for (int b = 1; b < 4; b++) {
      assertTrue(counts[b] > 70 && counts[b] < 130, "batch " + (b - 1) + ": " + counts[b]);
    }
    // another seed assigns rows differently
    DataFlowSpec other = new DataFlowSpec(List.of(3, 4), 2, 1, 0, 3, 0.25, 8);
    int moved = 0;
    for (int i = 0; i < 400; i++) {
      TaskRow row = new TaskRow("dev", TaskExample.text(i, "row " + i));
      moved +=
          flow.inBatch(row, DataFlowSpec.HOLDOUT) != other.inBatch(row, DataFlowSpec.HOLDOUT)
              ? 1
              : 0;
    }
    assertTrue(moved > 50, "seed changes the assignment: " + moved);
  }

  @Test
  void anEmbeddingModelWithoutTwoLayersOrBadIndicesAreRefused() {
    assertThrows(
        IllegalArgumentException.class, () -> new DataFlowSpec(List.of(1, 4), 1, 0, 0, 1, 0, 1));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new DataFlowSpec(List.of(2, 4), 1, 2, 0, 1, 0, 1));
    assertTrue(e.getMessage().contains("Invalid embedding model 2 of 2 sources"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> new DataFlowSpec(List.of(2, 4), 1, 0, 0, 1, 1.0, 1));
  }
}
