package dev.evomerge.driver.search;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

/** Standard test functions (minimised; strategies maximise their negation) and a driver loop. */
final class Benchmarks {
  private Benchmarks() {}

  static double sphere(double[] x) {
    double s = 0;
    for (double v : x) {
      s += v * v;
    }
    return s;
  }

  static double rosenbrock(double[] x) {
    double s = 0;
    for (int i = 0; i + 1 < x.length; i++) {
      double a = x[i + 1] - x[i] * x[i];
      double b = 1 - x[i];
      s += 100 * a * a + b * b;
    }
    return s;
  }

  static double rastrigin(double[] x) {
    double s = 10 * x.length;
    for (double v : x) {
      s += v * v - 10 * Math.cos(2 * Math.PI * v);
    }
    return s;
  }

  /** An ellipsoid with condition number 1e6 in a random rotation of the axes. */
  static ToDoubleFunction<double[]> rotatedEllipsoid(int n, long seed) {
    double[][] q = randomRotation(n, seed);
    return x -> {
      double s = 0;
      for (int i = 0; i < n; i++) {
        double y = 0;
        for (int j = 0; j < n; j++) {
          y += q[i][j] * x[j];
        }
        s += Math.pow(1e6, n == 1 ? 0 : (double) i / (n - 1)) * y * y;
      }
      return s;
    };
  }

  /** Gram-Schmidt on a Gaussian matrix. */
  static double[][] randomRotation(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    double[][] q = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        q[i][j] = r.nextDouble() * 2 - 1;
      }
      for (int k = 0; k < i; k++) {
        double dot = 0;
        for (int j = 0; j < n; j++) {
          dot += q[i][j] * q[k][j];
        }
        for (int j = 0; j < n; j++) {
          q[i][j] -= dot * q[k][j];
        }
      }
      double norm = 0;
      for (int j = 0; j < n; j++) {
        norm += q[i][j] * q[i][j];
      }
      norm = Math.sqrt(norm);
      for (int j = 0; j < n; j++) {
        q[i][j] /= norm;
      }
    }
    return q;
  }

  /** {@code f} with its optimum moved from 0 to a fixed random point of [-2, 2]^n. */
  static ToDoubleFunction<double[]> shifted(ToDoubleFunction<double[]> f, int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    double[] o = new double[n];
    for (int i = 0; i < n; i++) {
      o[i] = r.nextDouble() * 4 - 2;
    }
    return x -> {
      double[] y = new double[n];
      for (int i = 0; i < n; i++) {
        y[i] = x[i] - o[i];
      }
      return f.applyAsDouble(y);
    };
  }

  /** ZDT1's two objectives (both minimised), x in [0, 1]^n. */
  static double[] zdt1(double[] x) {
    double g = 0;
    for (int i = 1; i < x.length; i++) {
      g += x[i];
    }
    g = 1 + 9 * g / (x.length - 1);
    double f2 = g * (1 - Math.sqrt(x[0] / g));
    return new double[] {x[0], f2};
  }

  /** Result of minimising: best value and evaluations spent until the target (or -1). */
  record Outcome(double best, long evaluationsToTarget, long evaluations) {}

  /** Runs ask/tell on {@code f} (minimised) until {@code budget} evaluations or the target. */
  static Outcome minimise(
      SearchStrategy s, ToDoubleFunction<double[]> f, long budget, double target) {
    long evaluations = 0;
    double best = Double.POSITIVE_INFINITY;
    long hit = -1;
    while (evaluations < budget) {
      List<Genome> candidates = s.ask();
      double[] fitness = new double[candidates.size()];
      for (int i = 0; i < fitness.length; i++) {
        double v = f.applyAsDouble(candidates.get(i).genes());
        fitness[i] = -v;
        evaluations++;
        if (v < best) {
          best = v;
        }
        if (hit < 0 && best <= target) {
          hit = evaluations;
        }
      }
      s.tell(candidates, fitness);
      if (hit >= 0) {
        break;
      }
    }
    return new Outcome(best, hit, evaluations);
  }
}
