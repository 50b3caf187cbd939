package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * NSGA-II (Deb et al., 2002), maximising every objective: binary tournament on (front rank,
 * crowding distance), simulated binary crossover and polynomial mutation, and (mu + lambda)
 * survival by non-dominated sorting with crowding distance breaking ties in the last front.
 * Offspring stay in the bounds by construction (bounded SBX and polynomial mutation). Written here
 * rather than taken from the MOEA Framework, whose algorithms pull evaluations through a Problem
 * callback (no ask/tell, no replayable state) and which would add a large dependency.
 */
public final class Nsga2 extends AbstractStrategy implements MultiObjectiveStrategy {
  private final int size;
  private final double crossoverRate;
  private final double etaCrossover;
  private final double etaMutation;
  private final double mutationRate;
  private final List<Genome> initial;
  private List<Genome> population;
  private double[][] scores;
  private int[] rank;
  private double[] crowding;

  public Nsga2(
      Bounds bounds,
      int populationSize,
      double crossoverRate,
      double etaCrossover,
      double etaMutation,
      double mutationRate,
      List<Genome> initial,
      long seed) {
    super(bounds, seed);
    Preconditions.checkArgument(
        populationSize >= 4 && populationSize % 2 == 0,
        "Invalid NSGA-II population (even, at least 4): %s",
        populationSize);
    Preconditions.checkArgument(
        crossoverRate >= 0 && crossoverRate <= 1, "Invalid crossover rate: %s", crossoverRate);
    Preconditions.checkArgument(etaCrossover >= 0, "Invalid SBX eta: %s", etaCrossover);
    Preconditions.checkArgument(etaMutation >= 0, "Invalid mutation eta: %s", etaMutation);
    Preconditions.checkArgument(
        mutationRate >= 0 && mutationRate <= 1, "Invalid mutation rate: %s", mutationRate);
    this.size = populationSize;
    this.crossoverRate = crossoverRate;
    this.etaCrossover = etaCrossover;
    this.etaMutation = etaMutation;
    this.mutationRate = mutationRate;
    this.initial = List.copyOf(initial);
  }

  @Override
  List<Genome> propose() {
    if (population == null) {
      return genomes(initialPopulation(initial, size));
    }
    List<Genome> out = new ArrayList<>(size);
    java.util.Set<Genome> seen = new java.util.HashSet<>(population);
    int attempts = 0;
    while (out.size() < size) {
      double[] a = population.get(tournament()).genes();
      double[] b = population.get(tournament()).genes();
      if (rng.uniform() < crossoverRate) {
        sbx(a, b);
      }
      mutate(a);
      mutate(b);
      // copies of existing individuals waste evaluations and crowd the front; redraw them
      // (bounded, so a collapsed population still yields a generation)
      for (double[] child : List.of(a, b)) {
        Genome g = new Genome(child);
        if (out.size() < size && (seen.add(g) || ++attempts > 10 * size)) {
          out.add(g);
        }
      }
    }
    return out;
  }

  @Override
  void learn(List<Genome> candidates, double[] fitness) {
    double[][] objectives = new double[fitness.length][];
    for (int i = 0; i < fitness.length; i++) {
      objectives[i] = new double[] {fitness[i]};
    }
    survive(candidates, objectives);
  }

  @Override
  public void tell(List<Genome> candidates, double[][] objectives) {
    checkPending(candidates, objectives.length);
    int m = objectives.length == 0 ? 0 : objectives[0].length;
    Preconditions.checkArgument(m > 0, "No objectives given");
    double[][] clean = new double[objectives.length][];
    for (int i = 0; i < objectives.length; i++) {
      Preconditions.checkArgument(
          objectives[i].length == m,
          "Candidate %s has %s objectives, candidate 0 has %s",
          i,
          objectives[i].length,
          m);
      clean[i] = new double[m];
      boolean failed = false;
      for (int k = 0; k < m; k++) {
        clean[i][k] = sanitize(objectives[i][k]);
        failed |= clean[i][k] == Double.NEGATIVE_INFINITY;
      }
      if (failed) {
        // a failed candidate is worse than every real one on every objective
        Arrays.fill(clean[i], Double.NEGATIVE_INFINITY);
      }
    }
    clearPending();
    survive(new ArrayList<>(candidates), clean);
  }

  private void survive(List<Genome> candidates, double[][] objectives) {
    List<Genome> union = new ArrayList<>();
    List<double[]> unionScores = new ArrayList<>();
    if (population != null) {
      Preconditions.checkArgument(
          objectives[0].length == scores[0].length,
          "Got %s objectives, earlier generations had %s",
          objectives[0].length,
          scores[0].length);
      union.addAll(population);
      unionScores.addAll(Arrays.asList(scores));
    }
    union.addAll(candidates);
    unionScores.addAll(Arrays.asList(objectives));
    double[][] all = unionScores.toArray(new double[0][]);
    List<int[]> fronts = nonDominatedSort(all);
    List<Genome> nextPop = new ArrayList<>(size);
    List<double[]> nextScores = new ArrayList<>(size);
    List<Integer> nextRank = new ArrayList<>(size);
    List<Double> nextCrowding = new ArrayList<>(size);
    for (int f = 0; f < fronts.size() && nextPop.size() < size; f++) {
      int[] front = fronts.get(f);
      double[] distance = crowdingDistance(all, front);
      Integer[] order = new Integer[front.length];
      for (int i = 0; i < front.length; i++) {
        order[i] = i;
      }
      if (nextPop.size() + front.length > size) {
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> distance[i]).reversed());
      }
      for (int i = 0; i < front.length && nextPop.size() < size; i++) {
        int idx = front[order[i]];
        nextPop.add(union.get(idx));
        nextScores.add(all[idx]);
        nextRank.add(f);
        nextCrowding.add(distance[order[i]]);
      }
    }
    population = nextPop;
    scores = nextScores.toArray(new double[0][]);
    rank = nextRank.stream().mapToInt(Integer::intValue).toArray();
    crowding = nextCrowding.stream().mapToDouble(Double::doubleValue).toArray();
  }

  @Override
  public List<ParetoPoint> paretoFront() {
    List<ParetoPoint> out = new ArrayList<>();
    if (population == null) {
      return out;
    }
    for (int i = 0; i < population.size(); i++) {
      if (rank[i] == 0) {
        out.add(new ParetoPoint(population.get(i), scores[i]));
      }
    }
    return out;
  }

  /** The current population, fitness being the mean objective score. */
  @Override
  public List<Evaluated> population() {
    List<Evaluated> out = new ArrayList<>();
    if (population != null) {
      for (int i = 0; i < population.size(); i++) {
        out.add(new Evaluated(population.get(i), mean(scores[i])));
      }
    }
    return out;
  }

  @Override
  public Evaluated best() {
    Evaluated best = null;
    for (ParetoPoint p : paretoFront()) {
      double m = mean(p.objectives());
      if (best == null || m > best.fitness()) {
        best = new Evaluated(p.genome(), m);
      }
    }
    return best;
  }

  private static double mean(double[] v) {
    double s = 0;
    for (double x : v) {
      s += x;
    }
    return s / v.length;
  }

  private int tournament() {
    int a = rng.nextInt(population.size());
    int b = rng.nextInt(population.size());
    if (rank[a] != rank[b]) {
      return rank[a] < rank[b] ? a : b;
    }
    return crowding[b] > crowding[a] ? b : a;
  }

  /**
   * Simulated binary crossover in Deb's bounded form: the spread distribution is truncated at the
   * bounds, so children stay inside without repair (reflection would bias a search whose optimum
   * lies on a bound).
   */
  private void sbx(double[] a, double[] b) {
    for (int j = 0; j < n; j++) {
      if (rng.uniform() >= 0.5) {
        continue;
      }
      double y1 = Math.min(a[j], b[j]);
      double y2 = Math.max(a[j], b[j]);
      if (y2 - y1 < 1e-14) {
        continue;
      }
      double lo = bounds.lower(j);
      double hi = bounds.upper(j);
      double u = rng.uniform();
      double c1 = 0.5 * ((y1 + y2) - spread(u, 1 + 2 * (y1 - lo) / (y2 - y1)) * (y2 - y1));
      double c2 = 0.5 * ((y1 + y2) + spread(u, 1 + 2 * (hi - y2) / (y2 - y1)) * (y2 - y1));
      c1 = Math.min(hi, Math.max(lo, c1));
      c2 = Math.min(hi, Math.max(lo, c2));
      boolean swap = rng.uniform() < 0.5;
      a[j] = swap ? c2 : c1;
      b[j] = swap ? c1 : c2;
    }
  }

  private double spread(double u, double beta) {
    double alpha = 2 - StrictMath.pow(beta, -(etaCrossover + 1));
    double power = 1 / (etaCrossover + 1);
    return u <= 1 / alpha
        ? StrictMath.pow(u * alpha, power)
        : StrictMath.pow(1 / (2 - u * alpha), power);
  }

  /** Polynomial mutation, bounded form (Deb and Agrawal). */
  private void mutate(double[] x) {
    double rate = mutationRate > 0 ? mutationRate : 1.0 / n;
    for (int j = 0; j < n; j++) {
      if (rng.uniform() >= rate) {
        continue;
      }
      double lo = bounds.lower(j);
      double hi = bounds.upper(j);
      double d1 = (x[j] - lo) / (hi - lo);
      double d2 = (hi - x[j]) / (hi - lo);
      double u = rng.uniform();
      double power = 1 / (etaMutation + 1);
      double dq;
      if (u < 0.5) {
        double v = 2 * u + (1 - 2 * u) * StrictMath.pow(1 - d1, etaMutation + 1);
        dq = StrictMath.pow(v, power) - 1;
      } else {
        double v = 2 * (1 - u) + 2 * (u - 0.5) * StrictMath.pow(1 - d2, etaMutation + 1);
        dq = 1 - StrictMath.pow(v, power);
      }
      x[j] = bounds.reflect(j, x[j] + dq * (hi - lo));
    }
  }

  /** True when a is at least as good as b everywhere and better somewhere (maximising). */
  static boolean dominates(double[] a, double[] b) {
    boolean better = false;
    for (int k = 0; k < a.length; k++) {
      if (a[k] < b[k]) {
        return false;
      }
      if (a[k] > b[k]) {
        better = true;
      }
    }
    return better;
  }

  /** Fast non-dominated sort: fronts of indices, best front first, indices ascending in each. */
  static List<int[]> nonDominatedSort(double[][] objectives) {
    int count = objectives.length;
    List<List<Integer>> dominated = new ArrayList<>(count);
    int[] dominatedBy = new int[count];
    List<Integer> current = new ArrayList<>();
    for (int p = 0; p < count; p++) {
      List<Integer> sp = new ArrayList<>();
      for (int q = 0; q < count; q++) {
        if (dominates(objectives[p], objectives[q])) {
          sp.add(q);
        } else if (dominates(objectives[q], objectives[p])) {
          dominatedBy[p]++;
        }
      }
      dominated.add(sp);
      if (dominatedBy[p] == 0) {
        current.add(p);
      }
    }
    List<int[]> fronts = new ArrayList<>();
    while (!current.isEmpty()) {
      fronts.add(current.stream().mapToInt(Integer::intValue).sorted().toArray());
      List<Integer> next = new ArrayList<>();
      for (int p : current) {
        for (int q : dominated.get(p)) {
          if (--dominatedBy[q] == 0) {
            next.add(q);
          }
        }
      }
      current = next;
    }
    return fronts;
  }

  /**
   * Crowding distance of each member of {@code front} (same order): per objective, the boundary
   * points get infinity and the others the normalised gap between their neighbours, summed.
   */
  static double[] crowdingDistance(double[][] objectives, int[] front) {
    int size = front.length;
    double[] distance = new double[size];
    if (size == 0) {
      return distance;
    }
    int m = objectives[front[0]].length;
    for (int k = 0; k < m; k++) {
      final int obj = k;
      Integer[] order = new Integer[size];
      for (int i = 0; i < size; i++) {
        order[i] = i;
      }
      Arrays.sort(order, Comparator.comparingDouble((Integer i) -> objectives[front[i]][obj]));
      double lo = objectives[front[order[0]]][k];
      double hi = objectives[front[order[size - 1]]][k];
      distance[order[0]] = Double.POSITIVE_INFINITY;
      distance[order[size - 1]] = Double.POSITIVE_INFINITY;
      double range = hi - lo;
      if (!(range > 0) || !Double.isFinite(range)) {
        continue;
      }
      for (int i = 1; i < size - 1; i++) {
        distance[order[i]] +=
            (objectives[front[order[i + 1]]][k] - objectives[front[order[i - 1]]][k]) / range;
      }
    }
    return distance;
  }
}
