package dev.evomerge.driver.search;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class Nsga2Test {
  // maximised; fronts worked out by hand
  private static final double[][] POINTS = {
    {1, 5}, {2, 4}, {3, 3}, {1, 4}, {2, 2}, {0, 0}, {5, 1},
  };

  @Test
  void nonDominatedSortFindsHandComputedFronts() {
    List<int[]> fronts = Nsga2.nonDominatedSort(POINTS);
    assertEquals(3, fronts.size());
    assertArrayEquals(new int[] {0, 1, 2, 6}, fronts.get(0));
    assertArrayEquals(new int[] {3, 4}, fronts.get(1));
    assertArrayEquals(new int[] {5}, fronts.get(2));
  }

  @Test
  void equalPointsShareAFront() {
    List<int[]> fronts = Nsga2.nonDominatedSort(new double[][] {{1, 1}, {1, 1}, {0, 1}});
    assertArrayEquals(new int[] {0, 1}, fronts.get(0));
    assertArrayEquals(new int[] {2}, fronts.get(1));
  }

  @Test
  void crowdingDistanceMatchesHandComputation() {
    double[] d = Nsga2.crowdingDistance(POINTS, new int[] {0, 1, 2, 6});
    assertEquals(Double.POSITIVE_INFINITY, d[0]);
    // point 1: (3-1)/4 on the first objective + (5-3)/4 on the second
    assertEquals(1.0, d[1], 1e-12);
    // point 2: (5-2)/4 + (4-1)/4
    assertEquals(1.5, d[2], 1e-12);
    assertEquals(Double.POSITIVE_INFINITY, d[3]);
  }

  @Test
  void crowdingDistanceOfAFlatObjectiveAddsNothing() {
    double[][] pts = {{0, 1}, {1, 1}, {3, 1}};
    double[] d = Nsga2.crowdingDistance(pts, new int[] {0, 1, 2});
    assertEquals(1.0, d[1], 1e-12); // (3-0)/3 on the first objective only
  }

  @Test
  void frontOnZdt1ReachesHypervolumeCloseToTheTrueFront() {
    int n = 30;
    Nsga2 s =
        (Nsga2)
            Strategies.create(
                "nsga2", Map.of("populationSize", 100), Bounds.uniform(n, 0, 1), List.of(), 5);
    for (int gen = 0; gen < 200; gen++) {
      List<Genome> c = s.ask();
      double[][] objectives = new double[c.size()][];
      for (int i = 0; i < c.size(); i++) {
        double[] f = Benchmarks.zdt1(c.get(i).genes());
        objectives[i] = new double[] {-f[0], -f[1]};
      }
      s.tell(c, objectives);
    }
    double hv = hypervolume(s.paretoFront());
    double trueHv = 2.0 / 3; // 1 - integral of (1 - sqrt(f1)) over [0, 1]
    assertTrue(hv > 0.97 * trueHv, "hypervolume " + hv + " of " + trueHv);
    assertTrue(s.paretoFront().size() > 50, "front size " + s.paretoFront().size());
  }

  /** 2-D hypervolume of a minimisation front (objectives negated back) against (1, 1). */
  static double hypervolume(List<MultiObjectiveStrategy.ParetoPoint> front) {
    List<double[]> pts = new ArrayList<>();
    for (MultiObjectiveStrategy.ParetoPoint p : front) {
      double[] o = p.objectives();
      if (-o[0] <= 1 && -o[1] <= 1) {
        pts.add(new double[] {-o[0], -o[1]});
      }
    }
    pts.sort(Comparator.comparingDouble(p -> p[0]));
    double hv = 0;
    double prevF2 = 1;
    for (double[] p : pts) {
      if (p[1] < prevF2) {
        hv += (1 - p[0]) * (prevF2 - p[1]);
        prevF2 = p[1];
      }
    }
    return hv;
  }

  @Test
  void hypervolumeHelperIsRightOnASimpleFront() {
    // two points (0.5, 0.5) and (0, 1) minimised: the dominated area is 0.25
    List<MultiObjectiveStrategy.ParetoPoint> front =
        List.of(
            new MultiObjectiveStrategy.ParetoPoint(
                new Genome(new double[1]), new double[] {-0.5, -0.5}),
            new MultiObjectiveStrategy.ParetoPoint(
                new Genome(new double[1]), new double[] {0, -1}));
    assertEquals(0.25, hypervolume(front), 1e-12);
  }

  @Test
  void failedCandidatesNeverReachTheFront() {
    Nsga2 s = (Nsga2) Strategies.create("nsga2", Map.of(), Bounds.uniform(3, 0, 1), List.of(), 9);
    List<Genome> c = s.ask();
    double[][] objectives = new double[c.size()][];
    for (int i = 0; i < c.size(); i++) {
      objectives[i] =
          i == 0
              ? new double[] {Double.NaN, 100}
              : new double[] {c.get(i).gene(0), -c.get(i).gene(1)};
    }
    s.tell(c, objectives);
    for (MultiObjectiveStrategy.ParetoPoint p : s.paretoFront()) {
      assertTrue(Double.isFinite(p.objectives()[0]));
    }
  }
}
