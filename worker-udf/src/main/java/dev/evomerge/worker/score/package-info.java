/**
 * Scoring a model on dev tasks: tokenisation with Hugging Face tokenizers, the task kinds ({@code
 * loglik}, {@code multiple_choice}, {@code generate}, {@code classify}) with lm-eval-harness
 * definitions, and per-task partial sums that reduce across shards ({@link
 * dev.evomerge.worker.score.TaskPartial#plus}) so the driver can combine them exactly into a
 * weighted, direction-aware fitness ({@link dev.evomerge.worker.score.FitnessFunction}).
 */
package dev.evomerge.worker.score;
