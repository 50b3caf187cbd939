package dev.evomerge.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.TaskRow;
import dev.evomerge.worker.score.TaskExample;
import dev.evomerge.worker.spark.EvaluateSliceFunction;
import dev.evomerge.worker.spark.EvaluationSlice;
import java.io.ByteArrayOutputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.junit.jupiter.api.Test;

class DevShardsTest {
  @Test
  void shardsHoldTheRowsAsParallelizeSlicesThem() {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(TestSpark.session().sparkContext());
    List<TaskRow> rows = new ArrayList<>();
    for (int i = 0; i < 301; i++) {
      rows.add(new TaskRow("dev", TaskExample.text(i, "row " + i)));
    }
    TaskRow[] all = rows.toArray(new TaskRow[0]);
    // the same rows in the same shards as parallelize, so fitness matches the earlier plan's
    List<List<TaskRow>> expected =
        List.of(jsc.parallelize(rows, 4).collectPartitions(new int[] {0, 1, 2, 3}));
    for (int s = 0; s < 4; s++) {
      assertEquals(expected.get(s), EvaluateSliceFunction.shardRows(all, 4, s), "shard " + s);
    }
    assertEquals(75, EvaluateSliceFunction.shardRows(all, 4, 0).size());
  }

  @Test
  void evaluationTasksCarryTheRowsBroadcastsHandleNotItsRows() throws Exception {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(TestSpark.session().sparkContext());
    TaskRow[] rows = new TaskRow[301];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = new TaskRow("dev", TaskExample.text(i, "row " + i + " " + "x".repeat(1000)));
    }
    Broadcast<TaskRow[]> broadcast = jsc.broadcast(rows);
    try {
      List<CandidateSpec> candidates = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        candidates.add(new CandidateSpec(i, new double[] {0.5, 0.3, 0.2}));
      }
      EvaluateSliceFunction task =
          new EvaluateSliceFunction(
              null,
              broadcast,
              4,
              EvaluateSliceFunction.serialize(candidates),
              List.of(new EvaluationSlice(0, 4, 0, 4), new EvaluationSlice(4, 8, 0, 4)),
              jsc.sc().longAccumulator(),
              jsc.sc().longAccumulator(),
              null);
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
        out.writeObject(task);
      }
      // 301 rows of ~1 KB would be ~300 KB
      assertTrue(bytes.size() < 4_000, "task function of " + bytes.size() + " bytes");
    } finally {
      broadcast.destroy();
    }
  }
}
