package dev.evomerge.worker.score;

/** Whether a larger metric value is better; fitness flips lower-is-better metrics by this. */
public enum Direction {
  HIGHER,
  LOWER;

  /** The natural direction of a metric name. */
  public static Direction of(String metric) {
    return metric.equals("perplexity") ? LOWER : HIGHER;
  }

  /** The value oriented so that larger is better. */
  public double orient(double value) {
    return this == HIGHER ? value : -value;
  }
}
