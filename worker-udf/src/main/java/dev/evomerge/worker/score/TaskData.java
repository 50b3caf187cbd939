package dev.evomerge.worker.score;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Reads a task's JSONL rows. Fields by kind: loglik {@code text}; multiple_choice {@code context}
 * (or {@code query}, {@code question}), {@code choices}, {@code answer} (or {@code gold}, {@code
 * label}: an index); generate {@code prompt} (or {@code question}, {@code input}), {@code answer}
 * (or {@code target}); classify {@code text} (or {@code input}), {@code label}.
 */
public final class TaskData {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TaskData() {}

  /** Rows of {@code spec.data()}, read through Hadoop's file systems. */
  public static List<TaskExample> read(TaskSpec spec, Configuration conf) {
    Path path = new Path(spec.data());
    List<String> lines = new ArrayList<>();
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(path.getFileSystem(conf).open(path), StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        lines.add(line);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          String.format("Cannot read data %s of task %s", spec.data(), spec.name()), e);
    }
    return parse(spec, lines, spec.data());
  }

  /** Rows from JSONL lines (blank lines skipped; indices count non-blank lines). */
  public static List<TaskExample> parse(TaskSpec spec, List<String> lines, String where) {
    List<TaskExample> out = new ArrayList<>();
    int lineNo = 0;
    for (String line : lines) {
      lineNo++;
      if (line.isBlank()) {
        continue;
      }
      String at = where + ":" + lineNo;
      JsonNode row;
      try {
        row = JSON.readTree(line);
      } catch (IOException e) {
        throw new IllegalArgumentException("Malformed JSON at " + at, e);
      }
      long index = out.size();
      out.add(
          switch (spec.kind()) {
            case LOGLIK -> TaskExample.text(index, text(row, at, "text"));
            case MULTIPLE_CHOICE -> choice(row, index, at);
            case GENERATE ->
                TaskExample.target(
                    index,
                    text(row, at, "prompt", "question", "input"),
                    text(row, at, "answer", "target"));
            case CLASSIFY -> {
              String label = text(row, at, "label");
              if (!spec.verbalizers().containsKey(label)) {
                throw new IllegalArgumentException(
                    String.format(
                        "Label %s at %s has no verbalizer (task %s knows %s)",
                        label, at, spec.name(), spec.labels()));
              }
              yield TaskExample.target(index, text(row, at, "text", "input"), label);
            }
          });
    }
    return out;
  }

  private static TaskExample choice(JsonNode row, long index, String at) {
    JsonNode choices = row.get("choices");
    if (choices == null || !choices.isArray() || choices.size() < 2) {
      throw new IllegalArgumentException("Row at " + at + " needs \"choices\" (2 or more)");
    }
    List<String> c = new ArrayList<>();
    choices.forEach(x -> c.add(x.asText()));
    JsonNode answer = field(row, "answer", "gold", "label");
    if (answer == null
        || !answer.canConvertToInt()
        || answer.asInt() < 0
        || answer.asInt() >= c.size()) {
      throw new IllegalArgumentException(
          "Row at " + at + " needs \"answer\": an index into choices, got " + answer);
    }
    return TaskExample.choice(
        index, text(row, at, "context", "query", "question"), c, answer.asInt());
  }

  private static JsonNode field(JsonNode row, String... names) {
    for (String n : names) {
      if (row.hasNonNull(n)) {
        return row.get(n);
      }
    }
    return null;
  }

  private static String text(JsonNode row, String at, String... names) {
    JsonNode n = field(row, names);
    if (n == null || n.isContainerNode()) {
      throw new IllegalArgumentException(
          String.format("Row at %s needs a string field %s", at, String.join(" or ", names)));
    }
    return n.asText();
  }
}
