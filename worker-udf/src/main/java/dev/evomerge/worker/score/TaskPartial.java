package dev.evomerge.worker.score;

import java.io.Serializable;
import java.util.Arrays;

/**
 * Sums and counts of one task over some rows. Partials of disjoint shards add up ({@link #plus}) to
 * the partial of their union, so executors can score shards and the driver reduce them; metrics are
 * computed from the sums only at the end.
 *
 * @param task task name
 * @param examples rows scored
 * @param sumLogLik loglik: sum of token log-likelihoods
 * @param tokens loglik: number of scored tokens
 * @param correct rows whose prediction is right (acc, exact_match)
 * @param correctNorm multiple_choice: rows right under length normalisation (acc_norm)
 * @param confusion classify: gold-by-predicted counts, row-major over {@link TaskSpec#labels()}
 * @param nanos time spent scoring, summed over shards
 */
public record TaskPartial(
    String task,
    long examples,
    double sumLogLik,
    long tokens,
    long correct,
    long correctNorm,
    long[] confusion,
    long nanos)
    implements Serializable {

  public TaskPartial {
    confusion = confusion.clone();
  }

  /** Nothing scored yet; {@code labels} sizes the confusion matrix (0 unless classify). */
  public static TaskPartial empty(String task, int labels) {
    return new TaskPartial(task, 0, 0, 0, 0, 0, new long[labels * labels], 0);
  }

  public TaskPartial plus(TaskPartial o) {
    if (!task.equals(o.task) || confusion.length != o.confusion.length) {
      throw new IllegalArgumentException(
          String.format("Cannot add partials of task %s and %s", task, o.task));
    }
    long[] c = confusion.clone();
    for (int i = 0; i < c.length; i++) {
      c[i] += o.confusion[i];
    }
    return new TaskPartial(
        task,
        examples + o.examples,
        sumLogLik + o.sumLogLik,
        tokens + o.tokens,
        correct + o.correct,
        correctNorm + o.correctNorm,
        c,
        nanos + o.nanos);
  }

  /** The named metric; NaN when there is nothing to average. */
  public double metric(String name) {
    return switch (name) {
      case "mean_loglik" -> tokens == 0 ? Double.NaN : sumLogLik / tokens;
      case "sum_loglik" -> sumLogLik;
      case "perplexity" -> tokens == 0 ? Double.NaN : Math.exp(-sumLogLik / tokens);
      case "acc", "exact_match" -> examples == 0 ? Double.NaN : (double) correct / examples;
      case "acc_norm" -> examples == 0 ? Double.NaN : (double) correctNorm / examples;
      case "macro_f1" -> macroF1();
      default -> throw new IllegalArgumentException("Unknown metric " + name + " of task " + task);
    };
  }

  /** Mean F1 over labels that occur as gold or prediction (as scikit-learn's macro average). */
  private double macroF1() {
    int n = (int) Math.round(Math.sqrt(confusion.length));
    double sum = 0;
    int labels = 0;
    for (int k = 0; k < n; k++) {
      long tp = confusion[k * n + k];
      long gold = 0;
      long predicted = 0;
      for (int j = 0; j < n; j++) {
        gold += confusion[k * n + j];
        predicted += confusion[j * n + k];
      }
      if (gold + predicted == 0) {
        continue;
      }
      sum += 2.0 * tp / (gold + predicted);
      labels++;
    }
    return labels == 0 ? Double.NaN : sum / labels;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TaskPartial p
        && task.equals(p.task)
        && examples == p.examples
        && Double.compare(sumLogLik, p.sumLogLik) == 0
        && tokens == p.tokens
        && correct == p.correct
        && correctNorm == p.correctNorm
        && Arrays.equals(confusion, p.confusion)
        && nanos == p.nanos;
  }

  @Override
  public int hashCode() {
    return task.hashCode() * 31 + Arrays.hashCode(confusion) + Long.hashCode(examples);
  }
}
