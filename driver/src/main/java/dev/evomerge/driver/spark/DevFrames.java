package dev.evomerge.driver.spark;

import static org.apache.spark.sql.functions.input_file_name;
import static org.apache.spark.sql.functions.monotonically_increasing_id;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.driver.run.Preflight;
import dev.evomerge.driver.run.RunError;
import dev.evomerge.driver.run.TaskSources;
import dev.evomerge.worker.eval.TaskRow;
import dev.evomerge.worker.score.TaskData;
import dev.evomerge.worker.score.TaskExample;
import dev.evomerge.worker.score.TaskKind;
import dev.evomerge.worker.score.TaskSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Reads the Parquet and CSV tasks of a checked run with Spark's reader (local or any Hadoop
 * filesystem) and turns their rows into task rows with the same checks as JSON lines ({@link
 * TaskData#parse}). Rows are taken in file-name order, each file's rows in order, so a dev set
 * gives the same rows, in the same order, whichever format it is stored in. CSV values are all
 * text: a multiple-choice {@code answer} is its index as text, {@code choices} a JSON array.
 */
public final class DevFrames {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String FILE = "_evomerge_file";
  private static final String ORDER = "_evomerge_order";

  private DevFrames() {}

  /** {@code checked} with the frames' rows in their tasks' places; as is when it has none. */
  public static Preflight.CheckedRun read(SparkSession spark, Preflight.CheckedRun checked) {
    if (checked.frames().isEmpty()) {
      return checked;
    }
    Map<String, List<TaskExample>> read = new HashMap<>();
    for (TaskSources.FrameTask frame : checked.frames()) {
      read.put(key(frame.task()), examples(spark, frame, checked.spec().hadoopConf()));
    }
    return checked.withRows(
        rows(checked.spec().tasks(), checked.rows(), read),
        checked.testFitness() == null
            ? checked.testRows()
            : rows(checked.testFitness().tasks(), checked.testRows(), read));
  }

  /** Every task's rows in task order: a frame's as read, the others' as the driver read them. */
  private static List<TaskRow> rows(
      List<TaskSpec> tasks, List<TaskRow> jsonRows, Map<String, List<TaskExample>> frames) {
    Map<String, List<TaskRow>> byTask =
        jsonRows.stream().collect(Collectors.groupingBy(TaskRow::task));
    List<TaskRow> out = new ArrayList<>();
    for (TaskSpec task : tasks) {
      List<TaskExample> frame = frames.get(key(task));
      if (frame != null) {
        frame.forEach(x -> out.add(new TaskRow(task.name(), x)));
      } else {
        out.addAll(byTask.getOrDefault(task.name(), List.of()));
      }
    }
    return out;
  }

  private static String key(TaskSpec task) {
    return task.name() + "\n" + task.data();
  }

  private static List<TaskExample> examples(
      SparkSession spark, TaskSources.FrameTask frame, Map<String, String> hadoopConf) {
    TaskSpec task = frame.task();
    List<String> lines = new ArrayList<>();
    try {
      // the run's Hadoop settings (S3A endpoint, keys) as reader options, which Spark gives the
      // filesystem even when the session was started without them
      Dataset<Row> df =
          frame.format().equals("csv")
              ? spark
                  .read()
                  .options(hadoopConf)
                  .option("header", "true")
                  .option("multiLine", "true")
                  .option("mode", "FAILFAST")
                  .csv(task.data())
              : spark.read().options(hadoopConf).parquet(task.data());
      // sorted here, not by Spark: a small dev set, and no shuffle before the first generation
      List<Row> rows =
          new ArrayList<>(
              df.withColumn(FILE, input_file_name())
                  .withColumn(ORDER, monotonically_increasing_id())
                  .collectAsList());
      rows.sort(
          Comparator.comparing((Row r) -> r.<String>getAs(FILE))
              .thenComparingLong(r -> r.<Long>getAs(ORDER)));
      Function<Row, String> json = frame.format().equals("csv") ? r -> csvRow(r, task) : Row::json;
      for (Row row : rows) {
        lines.add(json.apply(row)); // the two ordering fields are ignored as unknown fields
      }
    } catch (RuntimeException e) {
      if (e instanceof RunError) {
        throw e;
      }
      throw new RunError(
          String.format(
              "Task %s (%s): cannot read %s data %s: %s",
              task.name(), frame.key(), frame.format(), task.data(), e.getMessage()),
          e);
    }
    List<TaskExample> examples;
    try {
      examples = TaskData.parse(task, lines, task.data() + " row");
    } catch (IllegalArgumentException e) {
      throw new RunError(
          String.format("Task %s (%s): %s", task.name(), frame.key(), e.getMessage()), e);
    }
    if (examples.isEmpty()) {
      throw new RunError(
          String.format("Task %s (%s): %s has no rows", task.name(), frame.key(), task.data()));
    }
    return examples;
  }

  /** A CSV row as JSON: a multiple-choice answer index as a number, choices as an array. */
  private static String csvRow(Row row, TaskSpec task) {
    try {
      ObjectNode node = (ObjectNode) JSON.readTree(row.json());
      if (task.kind() == TaskKind.MULTIPLE_CHOICE) {
        JsonNode choices = node.get("choices");
        if (choices != null && choices.isTextual() && choices.asText().trim().startsWith("[")) {
          node.set("choices", JSON.readTree(choices.asText()));
        }
        for (String answer : List.of("answer", "gold", "label")) {
          JsonNode a = node.get(answer);
          if (a != null && a.isTextual() && a.asText().trim().matches("-?\\d+")) {
            node.put(answer, Integer.parseInt(a.asText().trim()));
          }
        }
      }
      return JSON.writeValueAsString(node);
    } catch (IOException e) {
      throw new IllegalArgumentException("Malformed choices in a CSV row of " + task.data(), e);
    }
  }
}
