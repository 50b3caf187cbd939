package dev.evomerge.driver.run;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.score.ExampleScores;
import dev.evomerge.worker.score.TaskKind;
import dev.evomerge.worker.score.TaskSpec;
import java.io.IOException;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The run folder's {@code examples.jsonl}: for every evaluated candidate and task, one line with
 * each dev row's results as columns ordered by row index: {@code generation}, {@code candidate},
 * {@code task}, {@code kind}, {@code rows} (row indices) and the kind's per-row values: loglik
 * {@code score} (sum log-likelihood) and {@code tokens}; multiple_choice {@code score}, {@code
 * correct}, {@code correct_norm}, {@code predicted}, {@code gold}; classify {@code score}, {@code
 * correct}, {@code predicted}, {@code gold} (label indices); generate {@code correct}. They add up
 * to the task's metric in {@code history.jsonl}. Failed candidates have no line.
 */
final class ExampleLog {
  static final String FILE = "examples.jsonl";

  private final RunFiles files;
  private final StringBuilder text = new StringBuilder();
  private final Map<String, TaskKind> kinds = new LinkedHashMap<>();

  /**
   * Opens the log of the run folder {@code files}, dropping the lines of generations from {@code
   * completedGenerations} on (a resumed run evaluates them again). Like {@code history.jsonl}, the
   * file is kept on the driver and replaced whole after each generation, so it works on object
   * stores (no appends there) and a reader never sees a part of a line.
   */
  ExampleLog(RunFiles files, int completedGenerations, List<TaskSpec> tasks) {
    this.files = files;
    tasks.forEach(t -> kinds.put(t.name(), t.kind()));
    try {
      java.util.Optional<String> old = files.read(FILE);
      if (old.isPresent()) {
        for (String line : old.get().split("\n")) {
          if (!line.isBlank()
              && RunFolder.JSON.readTree(line).path("generation").asInt(Integer.MAX_VALUE)
                  < completedGenerations) {
            text.append(line).append('\n');
          }
        }
        files.write(FILE, text.toString());
      }
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new RunError("Cannot reopen " + files.path(FILE), e);
    }
  }

  /** Adds the lines of one generation's candidates (in candidate order) and rewrites the file. */
  void append(int generation, List<CandidateSpec> candidates, Map<Long, CandidateResult> results) {
    try {
      for (CandidateSpec candidate : candidates) {
        CandidateResult result = results.get(candidate.id());
        if (result == null || result.isFailed()) {
          continue;
        }
        for (ExampleScores scores : ordered(result.exampleScores())) {
          text.append(RunFolder.JSON.writeValueAsString(line(generation, candidate.id(), scores)))
              .append('\n');
        }
      }
      files.write(FILE, text.toString());
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new RunError("Cannot write " + files.path(FILE), e);
    }
  }

  /** Tasks in configuration order. */
  private List<ExampleScores> ordered(Map<String, ExampleScores> examples) {
    List<String> names = List.copyOf(kinds.keySet());
    return examples.values().stream()
        .sorted(Comparator.comparingInt((ExampleScores e) -> names.indexOf(e.task())))
        .toList();
  }

  ObjectNode line(int generation, long candidate, ExampleScores e) {
    TaskKind kind = kinds.get(e.task());
    if (kind == null) {
      throw new RunError("Per-row results of unknown task " + e.task());
    }
    int[] order =
        IntStream.range(0, e.size())
            .boxed()
            .sorted(Comparator.comparingLong(i -> e.rows()[i]))
            .mapToInt(Integer::intValue)
            .toArray();
    ObjectNode line = RunFolder.JSON.createObjectNode();
    line.put("generation", generation);
    line.put("candidate", candidate);
    line.put("task", e.task());
    line.put("kind", kind.configName());
    ArrayNode rows = line.putArray("rows");
    Arrays.stream(order).forEach(i -> rows.add(e.rows()[i]));
    if (kind != TaskKind.GENERATE) {
      ArrayNode score = line.putArray("score");
      for (int i : order) {
        double v = e.score()[i];
        if (Double.isFinite(v)) {
          score.add(v);
        } else {
          score.addNull();
        }
      }
    }
    if (kind == TaskKind.LOGLIK) {
      ArrayNode tokens = line.putArray("tokens");
      Arrays.stream(order).forEach(i -> tokens.add(e.tokens()[i]));
      return line;
    }
    ArrayNode correct = line.putArray("correct");
    Arrays.stream(order).forEach(i -> correct.add(e.correct()[i] ? 1 : 0));
    if (kind == TaskKind.MULTIPLE_CHOICE) {
      ArrayNode norm = line.putArray("correct_norm");
      Arrays.stream(order).forEach(i -> norm.add(e.correctNorm()[i] ? 1 : 0));
    }
    if (kind != TaskKind.GENERATE) {
      ArrayNode predicted = line.putArray("predicted");
      ArrayNode gold = line.putArray("gold");
      for (int i : order) {
        predicted.add(e.predicted()[i]);
        gold.add(e.gold()[i]);
      }
    }
    return line;
  }
}
