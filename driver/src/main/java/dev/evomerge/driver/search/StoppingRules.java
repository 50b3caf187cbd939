package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.time.Duration;

/**
 * When a search stops; checked between generations, so a run may overshoot the evaluation budget by
 * up to one generation. Zero (or a null duration) switches a rule off.
 *
 * @param maxEvaluations stop once this many candidates have been evaluated
 * @param maxWallClock stop once the run (across resumes) has taken this long
 * @param plateauGenerations stop when the best fitness improved by less than {@code
 *     plateauThreshold} over the last this many generations
 */
public record StoppingRules(
    long maxEvaluations, Duration maxWallClock, int plateauGenerations, double plateauThreshold) {
  public StoppingRules {
    Preconditions.checkArgument(
        maxEvaluations >= 0, "Invalid evaluation budget: %s", maxEvaluations);
    Preconditions.checkArgument(
        maxWallClock == null || !maxWallClock.isNegative(),
        "Invalid wall-clock budget: %s",
        maxWallClock);
    Preconditions.checkArgument(
        plateauGenerations >= 0, "Invalid plateau length: %s", plateauGenerations);
    Preconditions.checkArgument(
        plateauThreshold >= 0, "Invalid plateau threshold: %s", plateauThreshold);
  }

  public static StoppingRules budget(long maxEvaluations) {
    return new StoppingRules(maxEvaluations, null, 0, 0);
  }

  public static StoppingRules none() {
    return new StoppingRules(0, null, 0, 0);
  }
}
