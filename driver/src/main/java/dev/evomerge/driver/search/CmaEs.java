package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * CMA-ES with full covariance (Hansen's tutorial, "The CMA Evolution Strategy", 2016), maximising
 * fitness. Default population {@code 4 + floor(3 ln n)}; start point and sigma0 configurable
 * (Sakana's recipe search: all genes 0.5 in [0, 1], sigma 1/6 - the defaults here are the centre of
 * the bounds and a sixth of the mean bound width, which is exactly that on [0, 1]).
 *
 * <p>Bounds: samples are reflected into the box and the update uses the repaired points, so the
 * distribution learns from what was evaluated. Failed candidates rank last; a generation in which
 * fewer than mu candidates succeeded leaves the distribution unchanged.
 *
 * <p>IPOP restarts: when the distribution has converged or stalled (sigma too small, fitness flat,
 * covariance ill-conditioned) and restarts remain, start again from a uniform random point with the
 * population multiplied by {@code populationIncrease}. {@link #best()} spans all restarts.
 *
 * <p>Written here rather than taken from Commons Math's CMAESOptimizer, whose optimise() loop owns
 * the evaluation and so cannot be driven ask/tell, nor checkpointed between generations.
 */
public final class CmaEs extends AbstractStrategy {
  /** The knobs; {@code populationSize <= 0} means the default for the dimension. */
  public record Config(
      double[] start,
      double sigma0,
      int populationSize,
      int maxRestarts,
      double populationIncrease,
      double tolX,
      double tolFun,
      double maxCondition) {
    public Config {
      Preconditions.checkArgument(sigma0 > 0, "Invalid CMA-ES sigma0: %s", sigma0);
      Preconditions.checkArgument(maxRestarts >= 0, "Invalid restart count: %s", maxRestarts);
      Preconditions.checkArgument(
          populationIncrease >= 1, "Invalid population increase: %s", populationIncrease);
      start = start == null ? null : start.clone();
    }

    @Override
    public double[] start() {
      return start == null ? null : start.clone();
    }

    /** Sakana's defaults on the given bounds: centre, sigma = mean width / 6, IPOP off. */
    public static Config defaults(Bounds bounds) {
      double width = 0;
      for (int i = 0; i < bounds.dimension(); i++) {
        width += bounds.width(i);
      }
      return new Config(null, width / bounds.dimension() / 6, 0, 0, 2, 1e-12, 1e-12, 1e14);
    }
  }

  private final Config config;

  // per-restart state
  private int lambda;
  private int mu;
  private double[] weights;
  private double mueff;
  private double cc;
  private double cs;
  private double c1;
  private double cmu;
  private double damps;
  private final double chiN;
  private double[] mean;
  private double sigma;
  private double[][] c;
  private double[][] b;
  private double[] d;
  private double[] pc;
  private double[] ps;
  private int generation;
  private double sinceDecomposition;
  private final List<Double> bestHistory = new ArrayList<>();
  private int restarts;

  public CmaEs(Bounds bounds, Config config, long seed) {
    super(bounds, seed);
    this.config = config;
    this.chiN = Math.sqrt(n) * (1 - 1.0 / (4 * n) + 1.0 / (21.0 * n * n));
    int lambda0 =
        config.populationSize() > 0
            ? config.populationSize()
            : 4 + (int) Math.floor(3 * StrictMath.log(n));
    double[] start = config.start() == null ? bounds.center() : config.start();
    Preconditions.checkArgument(
        start.length == n, "CMA-ES start has %s values for %s genes", start.length, n);
    Preconditions.checkArgument(
        bounds.contains(start),
        "CMA-ES start point outside the bounds: %s",
        Arrays.toString(start));
    reset(lambda0, start);
  }

  /** The population size of the current restart. */
  public int populationSize() {
    return lambda;
  }

  /** How many IPOP restarts have happened. */
  public int restarts() {
    return restarts;
  }

  public double sigma() {
    return sigma;
  }

  public double[] mean() {
    return mean.clone();
  }

  private void reset(int lambda, double[] start) {
    this.lambda = Math.max(2, lambda);
    this.mu = this.lambda / 2;
    weights = new double[mu];
    double sum = 0;
    for (int i = 0; i < mu; i++) {
      weights[i] = StrictMath.log(mu + 0.5) - StrictMath.log(i + 1);
      sum += weights[i];
    }
    double sumSq = 0;
    for (int i = 0; i < mu; i++) {
      weights[i] /= sum;
      sumSq += weights[i] * weights[i];
    }
    mueff = 1 / sumSq;
    cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n);
    cs = (mueff + 2) / (n + mueff + 5);
    c1 = 2 / ((n + 1.3) * (n + 1.3) + mueff);
    cmu = Math.min(1 - c1, 2 * (mueff - 2 + 1 / mueff) / ((n + 2) * (n + 2) + mueff));
    damps = 1 + 2 * Math.max(0, Math.sqrt((mueff - 1) / (n + 1)) - 1) + cs;
    mean = start.clone();
    sigma = config.sigma0();
    c = identity(n);
    b = identity(n);
    d = new double[n];
    Arrays.fill(d, 1);
    pc = new double[n];
    ps = new double[n];
    generation = 0;
    sinceDecomposition = 0;
    bestHistory.clear();
  }

  @Override
  List<Genome> propose() {
    List<Genome> out = new ArrayList<>(lambda);
    for (int k = 0; k < lambda; k++) {
      double[] z = new double[n];
      for (int i = 0; i < n; i++) {
        z[i] = rng.gaussian();
      }
      double[] x = new double[n];
      for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) {
          s += b[i][j] * d[j] * z[j];
        }
        x[i] = mean[i] + sigma * s;
      }
      out.add(new Genome(bounds.repair(x)));
    }
    return out;
  }

  @Override
  void learn(List<Genome> candidates, double[] fitness) {
    int succeeded = 0;
    for (double f : fitness) {
      succeeded += f > Double.NEGATIVE_INFINITY ? 1 : 0;
    }
    if (succeeded < mu) {
      // recombining failed points would pull the mean towards where merges fail: skip the
      // update and sample this distribution again
      return;
    }
    Integer[] order = new Integer[lambda];
    for (int i = 0; i < lambda; i++) {
      order[i] = i;
    }
    // best first; stable, so ties keep sampling order
    Arrays.sort(order, (p, q) -> Double.compare(fitness[q], fitness[p]));
    double[] old = mean;
    double[][] y = new double[mu][];
    double[] yw = new double[n];
    for (int k = 0; k < mu; k++) {
      double[] x = candidates.get(order[k]).genes();
      y[k] = new double[n];
      for (int i = 0; i < n; i++) {
        y[k][i] = (x[i] - old[i]) / sigma;
        yw[i] += weights[k] * y[k][i];
      }
    }
    mean = new double[n];
    for (int i = 0; i < n; i++) {
      mean[i] = old[i] + sigma * yw[i];
    }
    // C^-1/2 yw = B D^-1 B^T yw
    double[] bty = new double[n];
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int i = 0; i < n; i++) {
        s += b[i][j] * yw[i];
      }
      bty[j] = s / d[j];
    }
    double psNorm = 0;
    double csFactor = Math.sqrt(cs * (2 - cs) * mueff);
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int j = 0; j < n; j++) {
        s += b[i][j] * bty[j];
      }
      ps[i] = (1 - cs) * ps[i] + csFactor * s;
      psNorm += ps[i] * ps[i];
    }
    psNorm = Math.sqrt(psNorm);
    generation++;
    boolean hsig =
        psNorm / Math.sqrt(1 - StrictMath.pow(1 - cs, 2.0 * generation)) / chiN
            < 1.4 + 2.0 / (n + 1);
    double ccFactor = Math.sqrt(cc * (2 - cc) * mueff);
    for (int i = 0; i < n; i++) {
      pc[i] = (1 - cc) * pc[i] + (hsig ? ccFactor * yw[i] : 0);
    }
    double hsigCorrection = hsig ? 0 : cc * (2 - cc);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j <= i; j++) {
        double rankMu = 0;
        for (int k = 0; k < mu; k++) {
          rankMu += weights[k] * y[k][i] * y[k][j];
        }
        double v =
            (1 - c1 - cmu) * c[i][j]
                + c1 * (pc[i] * pc[j] + hsigCorrection * c[i][j])
                + cmu * rankMu;
        c[i][j] = v;
        c[j][i] = v;
      }
    }
    sigma *= StrictMath.exp((cs / damps) * (psNorm / chiN - 1));
    // O(n^3): as in Hansen's reference code, decompose only every few generations when C adapts
    // slowly (large n); B and D lag C by at most that much
    sinceDecomposition += lambda;
    if (sinceDecomposition > lambda / (c1 + cmu) / n / 10) {
      sinceDecomposition = 0;
      SymmetricEigen eigen = SymmetricEigen.of(c);
      b = eigen.vectors;
      for (int i = 0; i < n; i++) {
        d[i] = Math.sqrt(Math.max(eigen.values[i], 1e-300));
      }
    }
    bestHistory.add(fitness[order[0]]);
    String reason = stagnation(fitness, order);
    if (reason != null && restarts < config.maxRestarts()) {
      restarts++;
      reset((int) Math.round(lambda * config.populationIncrease()), bounds.sample(rng));
    }
  }

  /** Why this restart should end, or null. */
  private String stagnation(double[] fitness, Integer[] order) {
    double maxD = Arrays.stream(d).max().orElse(1);
    double minD = Arrays.stream(d).min().orElse(1);
    if (sigma * maxD < config.tolX()) {
      return "tolX";
    }
    if (maxD * maxD > config.maxCondition() * minD * minD) {
      return "condition";
    }
    if (!Double.isFinite(sigma) || sigma <= 0) {
      return "sigma";
    }
    int window = 10 + (int) Math.ceil(30.0 * n / lambda);
    if (bestHistory.size() >= window) {
      double hi = Double.NEGATIVE_INFINITY;
      double lo = Double.POSITIVE_INFINITY;
      for (int k = bestHistory.size() - window; k < bestHistory.size(); k++) {
        hi = Math.max(hi, bestHistory.get(k));
        lo = Math.min(lo, bestHistory.get(k));
      }
      double genRange = fitness[order[0]] - fitness[order[lambda - 1]];
      if (hi - lo < config.tolFun() && genRange < config.tolFun()) {
        return "tolFun";
      }
    }
    return null;
  }

  private static double[][] identity(int n) {
    double[][] m = new double[n][n];
    for (int i = 0; i < n; i++) {
      m[i][i] = 1;
    }
    return m;
  }
}
