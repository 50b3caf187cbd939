package dev.evomerge.worker.spark;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import com.google.common.base.Preconditions;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;

/**
 * PyTorch's intra-op threads for an evaluation task follow the CPUs Spark gives it. PyTorch's
 * default is every core of the machine for each task thread (OpenMP gives each calling thread its
 * own team), so executors that share a machine, or several tasks in one executor, oversubscribe the
 * cores and spin against each other. A task gets {@code spark.task.cpus} threads, more when the
 * stage has fewer tasks than the executor has task slots (local[16] with one candidate and two dev
 * shards: 2 tasks of 8 threads), never more than the executor's cores.
 *
 * <p>An explicit {@value #THREADS_PROPERTY} system property or {@code OMP_NUM_THREADS} environment
 * variable on the executor wins: nothing is changed.
 */
final class TorchThreads {
  /** DJL's system property for PyTorch's intra-op threads, read when the engine loads. */
  static final String THREADS_PROPERTY = "ai.djl.pytorch.num_threads";

  private static final Pattern LOCAL = Pattern.compile("local(?:\\[(\\*|\\d+)(?:,\\d+)?])?");

  private TorchThreads() {}

  /**
   * Threads for each task of a stage of {@code tasks} tasks on an executor of {@code executorCores}
   * cores whose tasks take {@code taskCpus} each.
   */
  static int perTask(int executorCores, int taskCpus, int tasks) {
    Preconditions.checkArgument(taskCpus > 0, "Invalid spark.task.cpus: %s", taskCpus);
    Preconditions.checkArgument(tasks > 0, "Invalid number of tasks: %s", tasks);
    int cores = Math.max(executorCores, taskCpus);
    int concurrent = Math.min(cores / taskCpus, tasks);
    return Math.max(taskCpus, cores / concurrent);
  }

  /**
   * The executor's cores: {@code spark.executor.cores} when set, the {@code N} of a {@code
   * local[N]} master ({@code local[*]}: the JVM's processors), else {@code taskCpus} (a cluster
   * manager's default this JVM cannot see).
   */
  static int executorCores(SparkConf conf, int taskCpus) {
    if (conf.contains("spark.executor.cores")) {
      return conf.getInt("spark.executor.cores", taskCpus);
    }
    Matcher local = LOCAL.matcher(conf.get("spark.master", ""));
    if (local.matches()) {
      String n = local.group(1);
      if (n == null) {
        return 1;
      }
      return n.equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(n);
    }
    return taskCpus;
  }

  /** Whether the executor's launch fixed PyTorch's threads itself. */
  static boolean userChosen(Properties system, Map<String, String> env) {
    return system.getProperty(THREADS_PROPERTY) != null || env.get("OMP_NUM_THREADS") != null;
  }

  /**
   * Sets the running task's PyTorch threads (loads the engine if it is not loaded yet); outside a
   * Spark task, or when the user chose the threads, nothing.
   *
   * @return the threads set, or 0 when nothing was changed
   */
  static int applyToTask() {
    TaskContext context = TaskContext.get();
    SparkEnv env = SparkEnv.get();
    if (context == null || env == null || userChosen(System.getProperties(), System.getenv())) {
      return 0;
    }
    int taskCpus = Math.max(1, context.cpus());
    int threads =
        perTask(
            executorCores(env.conf(), taskCpus), taskCpus, Math.max(1, context.numPartitions()));
    Engine.getEngine("PyTorch");
    // PyTorch's OpenMP build sizes the calling thread's team (the task's), so set it in every
    // task: a pooled task thread may have run a stage of another shape before
    JniUtils.setNumThreads(threads);
    return threads;
  }
}
