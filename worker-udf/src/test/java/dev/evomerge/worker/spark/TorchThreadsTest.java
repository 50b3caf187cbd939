package dev.evomerge.worker.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import ai.djl.pytorch.jni.JniUtils;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;

class TorchThreadsTest {
  @Test
  void aTaskGetsItsCpusAndTheSlotsTheStageLeavesIdle() {
    // two 1-core executors on one machine: one thread each, however many shards
    assertEquals(1, TorchThreads.perTask(1, 1, 2));
    assertEquals(1, TorchThreads.perTask(1, 1, 64));
    // local[16] with 2 shards: 8 threads for each of the 2 tasks; 16 shards: 1 each
    assertEquals(8, TorchThreads.perTask(16, 1, 2));
    assertEquals(1, TorchThreads.perTask(16, 1, 16));
    assertEquals(16, TorchThreads.perTask(16, 1, 1));
    // a GPU executor of 8 cores running one 8-cpu task
    assertEquals(8, TorchThreads.perTask(8, 8, 4));
    // unknown executor cores: the task's cpus
    assertEquals(4, TorchThreads.perTask(4, 4, 3));
    assertEquals(
        "Invalid spark.task.cpus: 0",
        assertThrows(IllegalArgumentException.class, () -> TorchThreads.perTask(2, 0, 1))
            .getMessage());
  }

  @Test
  void executorCoresFromTheConfOrTheLocalMaster() {
    assertEquals(
        6, TorchThreads.executorCores(new SparkConf(false).set("spark.executor.cores", "6"), 1));
    assertEquals(3, TorchThreads.executorCores(new SparkConf(false).setMaster("local[3]"), 1));
    assertEquals(3, TorchThreads.executorCores(new SparkConf(false).setMaster("local[3,2]"), 1));
    assertEquals(1, TorchThreads.executorCores(new SparkConf(false).setMaster("local"), 1));
    assertEquals(
        Runtime.getRuntime().availableProcessors(),
        TorchThreads.executorCores(new SparkConf(false).setMaster("local[*]"), 1));
    // a standalone executor without spark.executor.cores: the task's cpus
    assertEquals(
        2, TorchThreads.executorCores(new SparkConf(false).setMaster("spark://h:7077"), 2));
  }

  @Test
  void anExplicitThreadCountWins() {
    Properties set = new Properties();
    set.setProperty(TorchThreads.THREADS_PROPERTY, "3");
    assertTrue(TorchThreads.userChosen(set, Map.of()));
    assertTrue(TorchThreads.userChosen(new Properties(), Map.of("OMP_NUM_THREADS", "2")));
    assertFalse(TorchThreads.userChosen(new Properties(), Map.of("PATH", "/bin")));
  }

  @Test
  void sparkTasksSetTheirPyTorchThreads() {
    assumeFalse(
        TorchThreads.userChosen(System.getProperties(), System.getenv()),
        "this JVM fixes PyTorch's threads itself");
    SparkConf conf =
        new SparkConf()
            .setMaster("local[2]")
            .setAppName("torch-threads-test")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.ui.enabled", "false");
    try (JavaSparkContext jsc = new JavaSparkContext(conf)) {
      // what each task reads back from PyTorch after setting its threads
      List<Integer> two =
          jsc.parallelize(List.of(0, 1), 2)
              .mapPartitions(
                  rows -> List.of(TorchThreads.applyToTask(), JniUtils.getNumThreads()).iterator())
              .collect();
      assertEquals(List.of(1, 1, 1, 1), two);
      List<Integer> one =
          jsc.parallelize(List.of(0), 1)
              .mapPartitions(
                  rows -> List.of(TorchThreads.applyToTask(), JniUtils.getNumThreads()).iterator())
              .collect();
      assertEquals(List.of(2, 2), one);
    }
  }
}
