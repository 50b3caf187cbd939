package dev.evomerge.worker.score;

import java.io.Serializable;

/**
 * How the model did on one row.
 *
 * @param task task name
 * @param index the row's index
 * @param score loglik: sum log-likelihood; multiple_choice and classify: log-likelihood of the
 *     predicted continuation; generate: 1 if correct else 0
 * @param correct whether the prediction is right (always true for loglik)
 * @param prediction the predicted choice index, label, or extracted answer ({@code ""} for loglik)
 * @param tokens loglik: tokens scored (the row's {@code score} over them is its mean); else 0
 * @param correctNorm multiple_choice: right under length normalisation (acc_norm); else false
 * @param predicted multiple_choice: the chosen choice; classify: the chosen label's index in {@link
 *     TaskSpec#labels()}; else -1
 * @param gold multiple_choice: the answer index; classify: the gold label's index; else -1
 */
public record ExampleResult(
    String task,
    long index,
    double score,
    boolean correct,
    String prediction,
    long tokens,
    boolean correctNorm,
    int predicted,
    int gold)
    implements Serializable {}
