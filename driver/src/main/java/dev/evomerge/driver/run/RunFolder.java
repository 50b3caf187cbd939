package dev.evomerge.driver.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * The folder a run writes: {@code status.json} (running, completed or failed), {@code config.conf}
 * (the effective configuration), {@code history.jsonl} (one line per evaluated candidate), {@code
 * generations.jsonl} (one line per generation), and the best model in {@code best/}. Created only
 * after every check passed; lines are flushed as each generation ends.
 */
public final class RunFolder implements AutoCloseable {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

  private final Path dir;
  private final Instant started = Instant.now();
  private final BufferedWriter history;
  private final BufferedWriter generations;

  private RunFolder(Path dir) throws IOException {
    this.dir = dir;
    this.history = Files.newBufferedWriter(dir.resolve("history.jsonl"), StandardCharsets.UTF_8);
    this.generations =
        Files.newBufferedWriter(dir.resolve("generations.jsonl"), StandardCharsets.UTF_8);
  }

  private RunFolder(Path dir, boolean append) throws IOException {
    this.dir = dir;
    this.history =
        Files.newBufferedWriter(
            dir.resolve("history.jsonl"), StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    this.generations =
        Files.newBufferedWriter(
            dir.resolve("generations.jsonl"), StandardCharsets.UTF_8, StandardOpenOption.APPEND);
  }

  /**
   * Reopens an interrupted run's folder to continue it after {@code completedGenerations}: lines of
   * a generation that did not complete (evaluated, but not checkpointed) are dropped, since that
   * generation is evaluated again.
   */
  public static RunFolder reopen(Path dir, int completedGenerations) {
    try {
      for (String file : new String[] {"history.jsonl", "generations.jsonl"}) {
        Path path = dir.resolve(file);
        StringBuilder kept = new StringBuilder();
        if (Files.exists(path)) {
          for (String line : Files.readAllLines(path, StandardCharsets.UTF_8)) {
            if (!line.isBlank()
                && JSON.readTree(line).path("generation").asInt(Integer.MAX_VALUE)
                    < completedGenerations) {
              kept.append(line).append('\n');
            }
          }
        }
        Path tmp = dir.resolve("." + file + ".tmp");
        Files.writeString(tmp, kept, StandardCharsets.UTF_8);
        Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      }
      Files.deleteIfExists(dir.resolve("best.json"));
      RunFolder folder = new RunFolder(dir, true);
      folder.writeStatus("running", null);
      return folder;
    } catch (IOException e) {
      throw new RunError("Cannot reopen run folder " + dir, e);
    }
  }

  /** Creates {@code <root>/<name>-<timestamp>} (with a numeric suffix if taken). */
  public static RunFolder create(String outputRoot, String name, String renderedConfig) {
    if (outputRoot.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*") && !outputRoot.startsWith("file:")) {
      throw new RunError(
          "evomerge.run.output-root must be a local folder for now, not " + outputRoot);
    }
    Path root = Path.of(outputRoot.replaceFirst("^file:", ""));
    String base = name + "-" + LocalDateTime.now().format(STAMP);
    try {
      Files.createDirectories(root);
      for (int i = 1; ; i++) {
        Path dir = root.resolve(i == 1 ? base : base + "-" + i);
        try {
          Files.createDirectory(dir);
        } catch (FileAlreadyExistsException e) {
          continue;
        }
        Files.writeString(dir.resolve("config.conf"), renderedConfig, StandardCharsets.UTF_8);
        RunFolder folder = new RunFolder(dir);
        folder.writeStatus("running", null);
        return folder;
      }
    } catch (IOException e) {
      throw new RunError("Cannot create run folder under " + root.toAbsolutePath(), e);
    }
  }

  public Path dir() {
    return dir;
  }

  /** Where the best model goes; written by the caller, atomically. */
  public Path bestModelDir() {
    return dir.resolve("best");
  }

  void appendHistory(ObjectNode line) {
    append(history, line);
  }

  void appendGeneration(ObjectNode line) {
    append(generations, line);
  }

  void writeJson(String fileName, ObjectNode node) {
    try {
      Files.writeString(
          dir.resolve(fileName),
          JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n",
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Replaces {@code checkpoint/search.json} (strategy state, RNG and ledger) atomically after a
   * generation, so a resume starts from the last completed one.
   */
  public void writeCheckpoint(String json) {
    try {
      Path dir = Files.createDirectories(this.dir.resolve("checkpoint"));
      Path tmp = dir.resolve(".search.json.tmp");
      Files.writeString(tmp, json, StandardCharsets.UTF_8);
      Files.move(
          tmp,
          dir.resolve("search.json"),
          StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
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
    try {
      Path tmp = dir.resolve(".status.json.tmp");
      Files.writeString(
          tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(status) + "\n");
      Files.move(
          tmp,
          dir.resolve("status.json"),
          StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void append(BufferedWriter writer, ObjectNode line) {
    try {
      writer.write(JSON.writeValueAsString(line));
      writer.newLine();
      writer.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    try {
      history.close();
      generations.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
