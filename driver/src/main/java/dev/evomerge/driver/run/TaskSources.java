package dev.evomerge.driver.run;

import dev.evomerge.worker.score.TaskKind;
import dev.evomerge.worker.score.TaskSpec;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.schema.Type;

/**
 * Where a task's rows come from: JSON lines, read on the driver as always, or a Parquet or CSV file
 * (or folder of part files, local or on any Hadoop filesystem) read with Spark's reader once Spark
 * runs. The format is the task's {@code format} key, or the extension of its {@code data}. The
 * columns of Parquet and CSV data are checked here, before any cluster work, from the Parquet
 * footer or the CSV header.
 */
public final class TaskSources {
  /** The formats a task's data may have. */
  public static final List<String> FORMATS = List.of("json", "parquet", "csv");

  private TaskSources() {}

  /**
   * A task whose rows a Spark reader reads.
   *
   * @param task the task (its {@code data} is the file or folder)
   * @param format {@code parquet} or {@code csv}
   * @param key the config key that configures it, for errors
   */
  public record FrameTask(TaskSpec task, String format, String key) {}

  /** The format of {@code data}: {@code explicit} if given, else by extension; JSON by default. */
  static String format(String data, Object explicit, String key) {
    if (explicit != null) {
      String f = String.valueOf(explicit).toLowerCase(Locale.ROOT);
      if (f.equals("jsonl") || f.equals("ndjson")) {
        f = "json";
      }
      if (!FORMATS.contains(f)) {
        throw new RunError(
            String.format(
                "Invalid format %s of %s: must be one of %s (or jsonl)", explicit, key, FORMATS));
      }
      return f;
    }
    String name = data.replaceAll("/+$", "").toLowerCase(Locale.ROOT);
    if (name.endsWith(".parquet")) {
      return "parquet";
    }
    if (name.endsWith(".csv")) {
      return "csv";
    }
    return "json";
  }

  /** Each kind's columns; a group is satisfied by any one of its names, as {@code TaskData}. */
  static List<List<String>> requiredColumns(TaskKind kind) {
    return switch (kind) {
      case LOGLIK -> List.of(List.of("text"));
      case MULTIPLE_CHOICE ->
          List.of(
              List.of("context", "query", "question"),
              List.of("choices"),
              List.of("answer", "gold", "label"));
      case GENERATE -> List.of(List.of("prompt", "question", "input"), List.of("answer", "target"));
      case CLASSIFY -> List.of(List.of("text", "input"), List.of("label"));
    };
  }

  /**
   * Checks that the task's data exists and has the columns its kind needs.
   *
   * @throws RunError naming the task, its config key, the file and the missing column
   */
  static void checkColumns(FrameTask frame, Configuration conf) {
    TaskSpec task = frame.task();
    Path file;
    List<String> columns;
    try {
      file = firstDataFile(new Path(task.data()), conf, frame.format());
      columns =
          frame.format().equals("parquet") ? parquetColumns(file, conf) : csvColumns(file, conf);
    } catch (IOException e) {
      throw new RunError(
          String.format(
              "Task %s (%s): cannot read %s data %s: %s",
              task.name(), frame.key(), frame.format(), task.data(), e.getMessage()),
          e);
    }
    for (List<String> group : requiredColumns(task.kind())) {
      if (group.stream().noneMatch(columns::contains)) {
        throw new RunError(
            String.format(
                "Task %s (%s): %s has no column %s, which kind %s needs (columns: %s)",
                task.name(),
                frame.key(),
                file,
                String.join(" or ", group),
                task.kind().configName(),
                columns));
      }
    }
  }

  /** The file itself, or the first data file of a folder of part files (as Spark writes). */
  private static Path firstDataFile(Path path, Configuration conf, String format)
      throws IOException {
    FileSystem fs = path.getFileSystem(conf);
    FileStatus status = fs.getFileStatus(path);
    if (status.isFile()) {
      return status.getPath();
    }
    FileStatus[] parts =
        fs.listStatus(path, p -> !p.getName().startsWith("_") && !p.getName().startsWith("."));
    Arrays.sort(parts);
    for (FileStatus part : parts) {
      if (part.isFile() && part.getLen() > 0) {
        return part.getPath();
      }
    }
    throw new IOException("folder " + path + " has no " + format + " files");
  }

  private static List<String> parquetColumns(Path file, Configuration conf) throws IOException {
    try (ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(file, conf))) {
      return reader.getFooter().getFileMetaData().getSchema().getFields().stream()
          .map(Type::getName)
          .toList();
    }
  }

  /** The header line, split on commas (quotes removed), as Spark's reader with header=true. */
  private static List<String> csvColumns(Path file, Configuration conf) throws IOException {
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(file.getFileSystem(conf).open(file), StandardCharsets.UTF_8))) {
      String header = r.readLine();
      if (header == null) {
        throw new IOException(file + " is empty (a CSV file needs a header line)");
      }
      List<String> out = new ArrayList<>();
      for (String name : header.split(",", -1)) {
        out.add(name.trim().replaceAll("^\"|\"$", ""));
      }
      return out;
    }
  }
}
