package dev.evomerge.driver.zoo;

import com.google.common.base.Preconditions;

/**
 * The size of the trained zoo: model shape, training steps and rows per split. {@link #full()} is
 * the demo's zoo; {@link #tiny()} builds in seconds for tests.
 *
 * @param trainRows training texts per corpus (stories, recipes, matches, math, second language)
 * @param devRows dev rows per task (the search selects on these)
 * @param testRows test rows per task (reported, never used for selection)
 */
public record ZooSettings(
    long seed,
    int hiddenSize,
    int intermediateSize,
    int layers,
    int heads,
    int kvHeads,
    int baseSteps,
    int expertSteps,
    int batchSize,
    double baseLearningRate,
    double expertLearningRate,
    int trainRows,
    int devRows,
    int testRows) {
  public ZooSettings {
    Preconditions.checkArgument(
        hiddenSize > 0 && hiddenSize % heads == 0,
        "Invalid zoo hidden size %s for %s heads",
        hiddenSize,
        heads);
    Preconditions.checkArgument(
        kvHeads > 0 && heads % kvHeads == 0,
        "Invalid zoo KV heads %s for %s heads",
        kvHeads,
        heads);
    Preconditions.checkArgument(
        trainRows > 0 && devRows > 0 && testRows > 0,
        "Invalid zoo rows: train %s, dev %s, test %s",
        trainRows,
        devRows,
        testRows);
  }

  /** The demo's zoo. */
  public static ZooSettings full() {
    return new ZooSettings(11, 64, 176, 2, 4, 2, 1500, 400, 32, 3e-3, 1e-3, 3000, 64, 200);
  }

  /** A zoo for tests: same pipeline, a few steps. */
  public static ZooSettings tiny() {
    return new ZooSettings(11, 32, 64, 1, 2, 1, 8, 4, 8, 3e-3, 1e-3, 60, 8, 8);
  }
}
