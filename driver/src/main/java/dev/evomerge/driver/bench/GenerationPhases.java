package dev.evomerge.driver.bench;

import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Where a generation's wall time goes, from the driver's listener events (driver clock, ms): before
 * the job starts (broadcast, job submission), from job start to the first task's launch
 * (scheduling), the longest task deserialisation and run, from the last task's end to the job's
 * end, and after the job (collecting and reducing the results). {@link #reset} before a generation,
 * {@link #line} after it (once the listener bus is drained).
 */
public final class GenerationPhases extends SparkListener {
  private long jobStart;
  private long jobEnd;
  private long firstLaunch;
  private long lastFinish;
  private long longestDeserialize;
  private long longestDeserializeCpu;
  private long longestRun;
  private long longestCpu;
  private long taskCpuNanos;
  private long processCpuAtReset;
  private final boolean tasksInThisJvm;

  /**
   * @param tasksInThisJvm whether the tasks run in this JVM (local mode): only then is the CPU
   *     outside the task threads reported
   */
  public GenerationPhases(boolean tasksInThisJvm) {
    this.tasksInThisJvm = tasksInThisJvm;
  }

  public synchronized void reset() {
    jobStart = jobEnd = lastFinish = 0;
    longestDeserialize = longestDeserializeCpu = longestRun = longestCpu = 0;
    firstLaunch = Long.MAX_VALUE;
    taskCpuNanos = 0;
    processCpuAtReset = processCpuNanos();
  }

  /** CPU time of this JVM so far (in local mode: the driver, Spark's threads and the tasks). */
  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  @Override
  public synchronized void onJobStart(SparkListenerJobStart start) {
    jobStart = start.time();
  }

  @Override
  public synchronized void onJobEnd(SparkListenerJobEnd end) {
    jobEnd = end.time();
  }

  @Override
  public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
    firstLaunch = Math.min(firstLaunch, end.taskInfo().launchTime());
    lastFinish = Math.max(lastFinish, end.taskInfo().finishTime());
    if (end.taskMetrics() != null) {
      longestDeserialize =
          Math.max(longestDeserialize, end.taskMetrics().executorDeserializeTime());
      longestDeserializeCpu =
          Math.max(
              longestDeserializeCpu, end.taskMetrics().executorDeserializeCpuTime() / 1_000_000);
      longestRun = Math.max(longestRun, end.taskMetrics().executorRunTime());
      longestCpu = Math.max(longestCpu, end.taskMetrics().executorCpuTime() / 1_000_000);
      taskCpuNanos += end.taskMetrics().executorCpuTime();
    }
  }

  /** The phases of the generation that ran from {@code startMs} to {@code endMs} (driver clock). */
  public synchronized String line(long startMs, long endMs) {
    String line =
        String.format(
            java.util.Locale.ROOT,
            "submit %d, schedule %d, deserialize %d (cpu %d), run %d (cpu %d), task end to job end %d,"
                + " after job %d ms",
            jobStart - startMs,
            firstLaunch - jobStart,
            longestDeserialize,
            longestDeserializeCpu,
            longestRun,
            longestCpu,
            jobEnd - lastFinish,
            endMs - jobEnd);
    if (!tasksInThisJvm) {
      return line;
    }
    return line
        + String.format(
            java.util.Locale.ROOT,
            "; CPU outside task threads %d ms",
            (processCpuNanos() - processCpuAtReset - taskCpuNanos) / 1_000_000);
  }
}
