package dev.evomerge.worker.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ComputedTensorsTest {
  @TempDir java.nio.file.Path dir;

  /**
   * A merge's output streamed into small shards: every tensor is computed exactly once, when the
   * writer reaches it, and at that moment no other computed tensor is held, so the write never
   * holds more than one tensor's values (its peak is the largest tensor) whatever the model's size.
   */
  @Test
  void theWriterHoldsOneComputedTensorAtATime() {
    Map<String, FloatTensor> want = HfModelWriterTest.toyTensors(4, 16, 5);
    ComputedTensors computed = new ComputedTensors();
    List<Long> heldAtCompute = new ArrayList<>();
    Map<String, TensorSource> tensors = new LinkedHashMap<>();
    long largest = 0;
    for (Map.Entry<String, FloatTensor> e : want.entrySet()) {
      FloatTensor t = e.getValue();
      largest = Math.max(largest, t.data().length);
      tensors.put(
          e.getKey(),
          computed.tensor(
              e.getKey(),
              t.shape(),
              () -> {
                heldAtCompute.add(computed.heldElements());
                return t.data().clone();
              }));
    }
    Path out = new Path(dir.resolve("merged").toString());
    Configuration conf = new Configuration();
    // 4 KB shards: several tensors per shard and several shards
    HfModelWriter.write(
        out,
        conf,
        HfModelWriterTest.config(4, 16),
        tensors,
        new WriteOptions(DType.F32, 4096),
        List.of());
    assertEquals(want.size(), computed.computations());
    assertEquals(want.size(), heldAtCompute.size());
    heldAtCompute.forEach(held -> assertEquals(0L, held));
    assertEquals(largest, computed.peakHeldElements());
    HfModelFolder model = HfModelFolder.open(out.toString(), conf);
    assertTrue(model.shards().size() > 2, "shards: " + model.shards().size());
    for (Map.Entry<String, FloatTensor> e : want.entrySet()) {
      assertArrayEquals(e.getValue().data(), model.readFloat(e.getKey()).data(), e.getKey());
    }
  }

  @Test
  void aComputedTensorOfTheWrongSizeFailsTheWrite() {
    ComputedTensors computed = new ComputedTensors();
    Map<String, TensorSource> tensors = new LinkedHashMap<>();
    tensors.put("a", computed.tensor("a", new long[] {2, 3}, () -> new float[5]));
    Path out = new Path(dir.resolve("bad").toString());
    Configuration conf = new Configuration();
    Exception e =
        org.junit.jupiter.api.Assertions.assertThrows(
            RuntimeException.class,
            () ->
                HfModelWriter.write(
                    out,
                    conf,
                    HfModelWriterTest.config(1, 4),
                    tensors,
                    WriteOptions.of(DType.F32),
                    List.of()));
    assertTrue(e.getMessage().contains("Merged tensor a has 5 values, expected 6"), e.getMessage());
    assertTrue(!new java.io.File(dir.resolve("bad").toString()).exists());
  }
}
