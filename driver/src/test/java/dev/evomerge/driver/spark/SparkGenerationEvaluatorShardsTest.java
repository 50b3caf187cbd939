package dev.evomerge.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.evomerge.worker.eval.TaskRow;
import dev.evomerge.worker.score.TaskExample;
import java.io.ByteArrayOutputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.Partition;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.junit.jupiter.api.Test;

class SparkGenerationEvaluatorShardsTest {
  @Test
  void shardsHoldTheRowsAsParallelizeSlicesThemButTheirPartitionsCarryNoRows() throws Exception {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(TestSpark.session().sparkContext());
    List<TaskRow> rows = new ArrayList<>();
    for (int i = 0; i < 301; i++) {
      rows.add(new TaskRow("dev", TaskExample.text(i, "row " + i + " " + "x".repeat(1000))));
    }
    Broadcast<TaskRow[]> broadcast = jsc.broadcast(rows.toArray(new TaskRow[0]));
    try {
      JavaRDD<TaskRow> shards = SparkGenerationEvaluator.shards(jsc, broadcast, 4);
      // the same rows in the same shards as parallelize, so results are unchanged
      int[] all = {0, 1, 2, 3};
      assertEquals(
          List.of(jsc.parallelize(rows, 4).collectPartitions(all)),
          List.of(shards.collectPartitions(all)));
      assertEquals(75, shards.collectPartitions(new int[] {0})[0].size());
      // what every generation's tasks carry: the partition, a few hundred bytes, not its rows
      for (Partition p : shards.rdd().partitions()) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
          out.writeObject(p);
        }
        assertTrue(bytes.size() < 2_000, "partition of " + bytes.size() + " bytes");
      }
    } finally {
      broadcast.destroy();
    }
  }
}
