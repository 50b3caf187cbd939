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
 */
public record ExampleResult(
    String task, long index, double score, boolean correct, String prediction)
    implements Serializable {}
