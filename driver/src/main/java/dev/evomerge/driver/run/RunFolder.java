package dev.evomerge.driver.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import org.apache.hadoop.conf.Configuration;

/**
 * The folder a run writes, on any Hadoop filesystem ({@code file:}, {@code hdfs:}, {@code s3a:}):
 * {@code status.json} (running, completed or failed), {@code config.conf} (the effective
 * configuration), {@code history.jsonl} (one line per evaluated candidate), {@code
 * generations.jsonl} (one line per generation), {@code checkpoint/search.json}, {@code best.json},
 * the report and the best model in {@code best/}. Created only after every check passed.
 *
 * <p>Object stores cannot append, so the two JSON-lines files are kept here and each file is
 * replaced whole (see {@link RunFiles#write}) at the end of every generation: a reader sees the
 * lines of every completed generation, never a partial line.
 */
public final class RunFolder implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");
  static final String HISTORY = "history.jsonl";
  static final String GENERATIONS = "generations.jsonl";

  private final RunFiles files;
  private final Instant started = Instant.now();
  private final StringBuilder history;
  private final StringBuilder generations;
  private boolean pending;

  private RunFolder(RunFiles files, StringBuilder history, StringBuilder generations) {
    this.files = files;
    this.history = history;
    this.generations = generations;
  }

  /** {@link #reopen(String, int, Configuration)} for a local folder. */
  public static RunFolder reopen(java.nio.file.Path dir, int completedGenerations) {
    return reopen(dir.toUri().toString(), completedGenerations, new Configuration());
  }

  /**
   * Reopens an interrupted run's folder to continue it after {@code completedGenerations}: lines of
   * a generation that did not complete (evaluated, but not checkpointed) are dropped, since that
   * generation is evaluated again, and so are the best model and the report of an earlier attempt.
   */
  public static RunFolder reopen(String dir, int completedGenerations, Configuration conf) {
    RunFiles files = RunFiles.at(dir, conf);
    try {
      RunFolder folder =
          new RunFolder(
              files,
              kept(files, HISTORY, completedGenerations),
              kept(files, GENERATIONS, completedGenerations));
      folder.flush();
      for (String stale : new String[] {"best.json", "best", "report.md", "test-evaluation.json"}) {
        files.delete(stale);
      }
      folder.writeStatus("running", null);
      return folder;
    } catch (IOException | UncheckedIOException e) {
      throw new RunError("Cannot reopen run folder " + files.dir() + ": " + e.getMessage(), e);
    }
  }

  private static StringBuilder kept(RunFiles files, String file, int completedGenerations)
      throws IOException {
    StringBuilder kept = new StringBuilder();
    for (String line : files.read(file).orElse("").split("\n")) {
      if (!line.isBlank()
          && JSON.readTree(line).path("generation").asInt(Integer.MAX_VALUE)
              < completedGenerations) {
        kept.append(line).append('\n');
      }
    }
    return kept;
  }

  /** {@link #create(String, String, String, Configuration)} with Hadoop's default settings. */
  public static RunFolder create(String outputRoot, String name, String renderedConfig) {
    return create(outputRoot, name, renderedConfig, new Configuration());
  }

  /**
   * Creates {@code <root>/<name>-<timestamp>} (with a numeric suffix if taken) under a local path
   * or any Hadoop filesystem URI; {@code conf} carries the filesystem's settings (S3A endpoint,
   * credentials).
   */
  public static RunFolder create(
      String outputRoot, String name, String renderedConfig, Configuration conf) {
    String base = name + "-" + LocalDateTime.now().format(STAMP);
    RunFiles root = RunFiles.at(outputRoot, conf);
    try {
      root.mkdirs("");
      for (int i = 1; ; i++) {
        RunFiles dir = RunFiles.at(root.path(i == 1 ? base : base + "-" + i).toString(), conf);
        // config.conf, created only if absent, claims the folder
        if (dir.exists("") || !dir.createNew("config.conf", renderedConfig)) {
          continue;
        }
        RunFolder folder = new RunFolder(dir, new StringBuilder(), new StringBuilder());
        folder.writeStatus("running", null);
        return folder;
      }
    } catch (UncheckedIOException e) {
      throw new RunError(
          "Cannot create run folder under " + root.dir() + ": " + e.getCause().getMessage(), e);
    }
  }

  /** The folder as a local path; only for a folder on the local filesystem. */
  public java.nio.file.Path dir() {
    if (!"file".equals(files.dir().toUri().getScheme())) {
      throw new IllegalStateException(files.dir() + " is not a local folder");
    }
    return java.nio.file.Path.of(files.dir().toUri());
  }

  /** The folder's files, wherever it lives. */
  public RunFiles files() {
    return files;
  }

  /** For messages: a local folder as its path, any other as its URI. */
  public String location() {
    return "file".equals(files.dir().toUri().getScheme())
        ? dir().toString()
        : files.dir().toString();
  }

  /** Where the best model goes; written by the caller, atomically. */
  public org.apache.hadoop.fs.Path bestModelDir() {
    return files.path("best");
  }

  /** Where the Spark event log goes, created (an empty folder or an object store marker). */
  public String eventLogDir() {
    files.mkdirs("eventlog");
    return files.path("eventlog").toString();
  }

  /** Kept until the generation's line is added (or the folder is closed). */
  void appendHistory(ObjectNode line) {
    append(history, line);
    pending = true;
  }

  /** Ends a generation: both JSON-lines files are rewritten with every line so far. */
  void appendGeneration(ObjectNode line) {
    append(generations, line);
    flush();
  }

  void writeJson(String fileName, ObjectNode node) {
    try {
      files.write(fileName, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes a text file of the folder whole ({@code report.md}, {@code best/recipe.yaml}). */
  void writeText(String relative, String text) {
    files.write(relative, text);
  }

  /**
   * Replaces {@code checkpoint/search.json} (strategy state, RNG and ledger) atomically after a
   * generation, so a resume starts from the last completed one. The generation's history lines are
   * written first, so a checkpointed generation always has them.
   */
  public void writeCheckpoint(String json) {
    if (pending) {
      flush();
    }
    files.write("checkpoint/search.json", json);
  }

  /** Replaces {@code status.json} atomically, so readers never see a partial file. */
  public void writeStatus(String state, String error) {
    ObjectNode status = JSON.createObjectNode();
    status.put("state", state);
    status.put("started", started.toString());
    if (!"running".equals(state)) {
      status.put("finished", Instant.now().toString());
    }
    if (error != null) {
      status.put("error", error);
    }
    writeJson("status.json", status);
  }

  private static void append(StringBuilder lines, ObjectNode line) {
    try {
      lines.append(JSON.writeValueAsString(line)).append('\n');
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void flush() {
    files.write(HISTORY, history.toString());
    files.write(GENERATIONS, generations.toString());
    pending = false;
  }

  @Override
  public void close() {
    if (pending) {
      flush();
    }
  }
}
