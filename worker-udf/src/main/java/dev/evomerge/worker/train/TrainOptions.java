package dev.evomerge.worker.train;

import com.google.common.base.Preconditions;

/**
 * How long and how fast to train.
 *
 * @param steps optimiser steps
 * @param batchSize sequences per step
 * @param learningRate AdamW peak learning rate (linear warm-up, then cosine decay to 10 %)
 * @param warmupSteps steps of linear warm-up
 * @param weightDecay decoupled weight decay on matrices (not on norms)
 * @param seed order in which training sequences are drawn
 */
public record TrainOptions(
    int steps, int batchSize, double learningRate, int warmupSteps, double weightDecay, long seed) {
  public TrainOptions {
    Preconditions.checkArgument(steps > 0, "Invalid training steps: %s", steps);
    Preconditions.checkArgument(batchSize > 0, "Invalid training batch size: %s", batchSize);
    Preconditions.checkArgument(
        learningRate > 0 && Double.isFinite(learningRate),
        "Invalid learning rate: %s",
        learningRate);
    Preconditions.checkArgument(warmupSteps >= 0, "Invalid warm-up steps: %s", warmupSteps);
    Preconditions.checkArgument(
        weightDecay >= 0 && Double.isFinite(weightDecay), "Invalid weight decay: %s", weightDecay);
  }

  /** The learning rate at step {@code step} (0-based). */
  public double learningRateAt(int step) {
    if (step < warmupSteps) {
      return learningRate * (step + 1) / warmupSteps;
    }
    double progress = (double) (step - warmupSteps) / Math.max(1, steps - warmupSteps);
    return learningRate * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
  }
}
