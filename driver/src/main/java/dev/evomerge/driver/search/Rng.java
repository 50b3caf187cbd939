package dev.evomerge.driver.search;

import java.util.SplittableRandom;

/**
 * The one source of randomness of a strategy: a seeded {@link SplittableRandom} plus Gaussian
 * draws. Transcendentals go through {@link StrictMath} so that a run replays bit for bit on any JVM
 * (a checkpoint may be restored by a driver on another machine).
 */
final class Rng {
  private final SplittableRandom random;

  Rng(long seed) {
    this.random = new SplittableRandom(seed);
  }

  double uniform() {
    return random.nextDouble();
  }

  double uniform(double lower, double upper) {
    return lower + random.nextDouble() * (upper - lower);
  }

  int nextInt(int bound) {
    return random.nextInt(bound);
  }

  /** Box-Muller, one value per call (the second is discarded to keep the state trivial). */
  double gaussian() {
    double u1 = 1.0 - random.nextDouble();
    double u2 = random.nextDouble();
    return StrictMath.sqrt(-2 * StrictMath.log(u1)) * StrictMath.cos(2 * StrictMath.PI * u2);
  }

  /** A uniformly random index in [0, bound) other than {@code excluded}. */
  int otherThan(int bound, int excluded) {
    int r = random.nextInt(bound - 1);
    return r >= excluded ? r + 1 : r;
  }
}
