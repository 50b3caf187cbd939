package dev.evomerge.worker.score;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * One dev task of a fitness function, as written in the run config (HOCON) or a task file (JSON):
 *
 * <pre>
 * { name = gsm8k-dev, data = "s3a://bucket/gsm8k.jsonl", kind = generate, metric = exact_match,
 *   direction = higher, weight = 2.0, max_new_tokens = 256, stop = ["\n\n"], match = numeric }
 * </pre>
 *
 * @param name unique task name
 * @param data path or URI of a JSONL file of rows
 * @param kind what is asked of the model
 * @param metric one of {@link TaskKind#metrics()}, default the first
 * @param direction must agree with the metric's natural direction (perplexity: lower)
 * @param weight non-negative weight in the fitness
 * @param maxNewTokens generate: decoding budget
 * @param stop generate: output is cut before the first stop string
 * @param answerRegex generate: the answer is the last match (group 1 if the regex has a group)
 * @param match generate: {@code exact} (trimmed strings) or {@code numeric}
 * @param verbalizers classify: label to the text whose likelihood after the input decides
 * @param targetDelimiter multiple_choice and classify: put between context and continuation
 */
public record TaskSpec(
    String name,
    String data,
    TaskKind kind,
    String metric,
    Direction direction,
    double weight,
    int maxNewTokens,
    List<String> stop,
    String answerRegex,
    String match,
    Map<String, String> verbalizers,
    String targetDelimiter)
    implements Serializable {

  /** GSM8K-style: the last number in the output, with optional sign, commas and decimals. */
  public static final String LAST_NUMBER = "(-?[0-9][0-9,]*(?:\\.[0-9]+)?)";

  public TaskSpec {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("A task needs a name");
    }
    if (!kind.metrics().contains(metric)) {
      throw new IllegalArgumentException(
          String.format(
              "Task %s: metric %s is not one of %s for kind %s",
              name, metric, kind.metrics(), kind.configName()));
    }
    if (direction != Direction.of(metric)) {
      throw new IllegalArgumentException(
          String.format(
              "Task %s: metric %s is %s-is-better, but direction says %s",
              name,
              metric,
              Direction.of(metric).name().toLowerCase(Locale.ROOT),
              direction.name().toLowerCase(Locale.ROOT)));
    }
    if (!(weight >= 0) || Double.isInfinite(weight)) {
      throw new IllegalArgumentException(
          String.format("Task %s: weight must be finite and >= 0, got %s", name, weight));
    }
    if (!match.equals("exact") && !match.equals("numeric")) {
      throw new IllegalArgumentException(
          String.format("Task %s: match must be exact or numeric, got %s", name, match));
    }
    if (kind == TaskKind.GENERATE && maxNewTokens <= 0) {
      throw new IllegalArgumentException(
          String.format("Task %s: max_new_tokens must be positive", name));
    }
    if (kind == TaskKind.CLASSIFY && verbalizers.size() < 2) {
      throw new IllegalArgumentException(
          String.format("Task %s: classify needs verbalizers for at least two labels", name));
    }
    stop = List.copyOf(stop);
    verbalizers = Map.copyOf(verbalizers);
  }

  /** A task with defaults for everything kind-specific. */
  public static TaskSpec of(String name, String data, TaskKind kind, double weight) {
    String metric = kind.metrics().get(0);
    return new TaskSpec(
        name,
        data,
        kind,
        metric,
        Direction.of(metric),
        weight,
        256,
        List.of(),
        LAST_NUMBER,
        "numeric",
        Map.of(),
        " ");
  }

  /** Labels in confusion-matrix order: sorted, so every JVM numbers them alike. */
  public List<String> labels() {
    return new ArrayList<>(new TreeMap<>(verbalizers).keySet());
  }

  /**
   * Parses a task from a map of plain values, as {@code Config.root().unwrapped()} or Jackson's
   * {@code convertValue(node, Map.class)} give. Keys use snake_case; unknown keys are errors.
   */
  public static TaskSpec fromMap(Map<String, ?> m, String where) {
    List<String> known =
        List.of(
            "name",
            "data",
            "kind",
            "metric",
            "direction",
            "weight",
            "max_new_tokens",
            "stop",
            "answer_regex",
            "match",
            "verbalizers",
            "target_delimiter");
    for (String key : m.keySet()) {
      if (!known.contains(key)) {
        throw new IllegalArgumentException(
            String.format("Unknown key %s in task %s (known: %s)", key, where, known));
      }
    }
    String name = string(m, "name", null, where);
    TaskKind kind = TaskKind.parse(string(m, "kind", null, where), where);
    String metric = string(m, "metric", kind.metrics().get(0), where);
    String dir = string(m, "direction", Direction.of(metric).name(), where);
    Direction direction;
    try {
      direction = Direction.valueOf(dir.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          String.format("direction must be higher or lower in %s, got %s", where, dir));
    }
    Map<String, String> verbalizers = new TreeMap<>();
    Object v = m.get("verbalizers");
    if (v instanceof Map<?, ?> map) {
      map.forEach((k, val) -> verbalizers.put(String.valueOf(k), String.valueOf(val)));
    } else if (v != null) {
      throw new IllegalArgumentException("verbalizers must be an object in " + where);
    }
    List<String> stop = new ArrayList<>();
    Object s = m.get("stop");
    if (s instanceof List<?> list) {
      list.forEach(x -> stop.add(String.valueOf(x)));
    } else if (s != null) {
      stop.add(String.valueOf(s));
    }
    return new TaskSpec(
        name,
        string(m, "data", "", where),
        kind,
        metric,
        direction,
        number(m, "weight", 1.0, where),
        (int) number(m, "max_new_tokens", 256, where),
        stop,
        string(m, "answer_regex", LAST_NUMBER, where),
        string(m, "match", "numeric", where),
        verbalizers,
        string(m, "target_delimiter", " ", where));
  }

  private static String string(Map<String, ?> m, String key, String fallback, String where) {
    Object v = m.get(key);
    if (v == null) {
      if (fallback == null) {
        throw new IllegalArgumentException(String.format("Missing %s in task %s", key, where));
      }
      return fallback;
    }
    return String.valueOf(v);
  }

  private static double number(Map<String, ?> m, String key, double fallback, String where) {
    Object v = m.get(key);
    if (v == null) {
      return fallback;
    }
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    try {
      return Double.parseDouble(String.valueOf(v));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          String.format("%s must be a number in task %s, got %s", key, where, v));
    }
  }
}
