package dev.evomerge.worker.score;

import java.util.List;

/** What a dev task asks of the model, and the metrics each kind reports. */
public enum TaskKind {
  /** text: sum and mean token log-likelihood, perplexity. */
  LOGLIK("loglik", List.of("mean_loglik", "sum_loglik", "perplexity")),
  /** context, choices, answer index: accuracy and byte-length-normalised accuracy. */
  MULTIPLE_CHOICE("multiple_choice", List.of("acc", "acc_norm")),
  /** prompt, answer: greedy decoding, extracted answer matched exactly or numerically. */
  GENERATE("generate", List.of("exact_match")),
  /** text, label: the label whose verbaliser is most likely; accuracy and macro-F1. */
  CLASSIFY("classify", List.of("acc", "macro_f1"));

  private final String configName;
  private final List<String> metrics;

  TaskKind(String configName, List<String> metrics) {
    this.configName = configName;
    this.metrics = metrics;
  }

  public String configName() {
    return configName;
  }

  /** Metrics of this kind; the first is the default. */
  public List<String> metrics() {
    return metrics;
  }

  public static TaskKind parse(String name, String where) {
    for (TaskKind k : values()) {
      if (k.configName.equals(name)) {
        return k;
      }
    }
    throw new IllegalArgumentException(
        String.format(
            "Unknown task kind %s in %s (known: loglik, multiple_choice, generate, classify)",
            name, where));
  }
}
