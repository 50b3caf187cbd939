package dev.evomerge.worker.score;

import java.io.Serializable;
import java.util.Arrays;
import java.util.List;

/**
 * The per-row results of one task over some rows, as columns of numbers (no texts), so that
 * executors can send them back with a candidate's partial sums at a few bytes per row. Columns of
 * disjoint shards concatenate ({@link #plus}); the rows are in no particular order.
 *
 * @param task task name
 * @param rows row indices
 * @param score per row, as {@link ExampleResult#score()}
 * @param tokens per row, as {@link ExampleResult#tokens()}
 * @param correct per row, as {@link ExampleResult#correct()}
 * @param correctNorm per row, as {@link ExampleResult#correctNorm()}
 * @param predicted per row, as {@link ExampleResult#predicted()}
 * @param gold per row, as {@link ExampleResult#gold()}
 */
public record ExampleScores(
    String task,
    long[] rows,
    double[] score,
    long[] tokens,
    boolean[] correct,
    boolean[] correctNorm,
    int[] predicted,
    int[] gold)
    implements Serializable {

  public ExampleScores {
    int n = rows.length;
    if (score.length != n
        || tokens.length != n
        || correct.length != n
        || correctNorm.length != n
        || predicted.length != n
        || gold.length != n) {
      throw new IllegalArgumentException("Per-row columns of task " + task + " differ in length");
    }
  }

  /** The columns of {@code results}, all of task {@code task}. */
  public static ExampleScores of(String task, List<ExampleResult> results) {
    int n = results.size();
    ExampleScores out =
        new ExampleScores(
            task,
            new long[n],
            new double[n],
            new long[n],
            new boolean[n],
            new boolean[n],
            new int[n],
            new int[n]);
    for (int i = 0; i < n; i++) {
      ExampleResult e = results.get(i);
      if (!e.task().equals(task)) {
        throw new IllegalArgumentException(
            String.format(
                "Row %d of task %s among the rows of task %s", e.index(), e.task(), task));
      }
      out.rows[i] = e.index();
      out.score[i] = e.score();
      out.tokens[i] = e.tokens();
      out.correct[i] = e.correct();
      out.correctNorm[i] = e.correctNorm();
      out.predicted[i] = e.predicted();
      out.gold[i] = e.gold();
    }
    return out;
  }

  /** Number of rows. */
  public int size() {
    return rows.length;
  }

  /** The rows of both (disjoint shards of one task). */
  public ExampleScores plus(ExampleScores o) {
    if (!task.equals(o.task)) {
      throw new IllegalArgumentException(
          String.format("Cannot add per-row results of task %s and %s", task, o.task));
    }
    int n = size();
    int m = o.size();
    ExampleScores out =
        new ExampleScores(
            task,
            Arrays.copyOf(rows, n + m),
            Arrays.copyOf(score, n + m),
            Arrays.copyOf(tokens, n + m),
            Arrays.copyOf(correct, n + m),
            Arrays.copyOf(correctNorm, n + m),
            Arrays.copyOf(predicted, n + m),
            Arrays.copyOf(gold, n + m));
    System.arraycopy(o.rows, 0, out.rows, n, m);
    System.arraycopy(o.score, 0, out.score, n, m);
    System.arraycopy(o.tokens, 0, out.tokens, n, m);
    System.arraycopy(o.correct, 0, out.correct, n, m);
    System.arraycopy(o.correctNorm, 0, out.correctNorm, n, m);
    System.arraycopy(o.predicted, 0, out.predicted, n, m);
    System.arraycopy(o.gold, 0, out.gold, n, m);
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ExampleScores e
        && task.equals(e.task)
        && Arrays.equals(rows, e.rows)
        && Arrays.equals(score, e.score)
        && Arrays.equals(tokens, e.tokens)
        && Arrays.equals(correct, e.correct)
        && Arrays.equals(correctNorm, e.correctNorm)
        && Arrays.equals(predicted, e.predicted)
        && Arrays.equals(gold, e.gold);
  }

  @Override
  public int hashCode() {
    return task.hashCode() * 31 + Arrays.hashCode(rows) + Arrays.hashCode(score);
  }
}
