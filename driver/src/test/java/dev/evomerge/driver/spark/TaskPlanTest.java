package dev.evomerge.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.evomerge.worker.spark.EvaluationSlice;
import java.util.List;
import org.junit.jupiter.api.Test;

class TaskPlanTest {
  /** Every (candidate, shard) pair in exactly one task. */
  private static void assertCoversEachPairOnce(List<EvaluationSlice> plan, int c, int k) {
    int[][] seen = new int[c][k];
    for (EvaluationSlice s : plan) {
      for (int i = s.fromCandidate(); i < s.toCandidate(); i++) {
        for (int j = s.fromShard(); j < s.toShard(); j++) {
          seen[i][j]++;
        }
      }
    }
    for (int i = 0; i < c; i++) {
      for (int j = 0; j < k; j++) {
        assertEquals(1, seen[i][j], "candidate " + i + ", shard " + j + " in " + plan);
      }
    }
  }

  private static int materialisations(List<EvaluationSlice> plan) {
    return plan.stream().mapToInt(EvaluationSlice::candidates).sum();
  }

  @Test
  void manyCandidatesAreGroupedOneTaskPerSlotEachMaterialisedOnce() {
    List<EvaluationSlice> plan = TaskPlan.slices(32, 2, 2);
    assertEquals(
        List.of(new EvaluationSlice(0, 16, 0, 2), new EvaluationSlice(16, 32, 0, 2)), plan);
    for (int[] ckp : new int[][] {{8, 2, 2}, {24, 8, 3}, {7, 4, 7}, {100, 1, 16}, {5, 3, 1}}) {
      List<EvaluationSlice> p = TaskPlan.slices(ckp[0], ckp[1], ckp[2]);
      assertCoversEachPairOnce(p, ckp[0], ckp[1]);
      assertEquals(ckp[2], p.size(), "one task per slot");
      assertEquals(ckp[0], materialisations(p), "each candidate once");
      int smallest = p.stream().mapToInt(EvaluationSlice::candidates).min().orElseThrow();
      int largest = p.stream().mapToInt(EvaluationSlice::candidates).max().orElseThrow();
      assertTrue(largest - smallest <= 1, "even groups: " + p);
    }
  }

  @Test
  void fewCandidatesSplitTheirShardsToFillTheSlotsWithoutASecondWave() {
    List<EvaluationSlice> plan = TaskPlan.slices(2, 4, 8);
    assertEquals(8, plan.size());
    assertEquals(new EvaluationSlice(0, 1, 0, 1), plan.get(0));
    assertCoversEachPairOnce(plan, 2, 4);
    // 3 candidates on 8 slots: 2 shard groups each (6 tasks), not 3 (9 tasks: a second wave)
    List<EvaluationSlice> three = TaskPlan.slices(3, 4, 8);
    assertEquals(6, three.size());
    assertEquals(6, materialisations(three));
    assertCoversEachPairOnce(three, 3, 4);
    // never more groups than shards
    List<EvaluationSlice> one = TaskPlan.slices(1, 2, 16);
    assertEquals(List.of(new EvaluationSlice(0, 1, 0, 1), new EvaluationSlice(0, 1, 1, 2)), one);
  }

  @Test
  void noSlotsKnownStillPlansOneTask() {
    assertEquals(List.of(new EvaluationSlice(0, 4, 0, 2)), TaskPlan.slices(4, 2, 0));
  }

  @Test
  void emptyGenerationsAreRefused() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> TaskPlan.slices(0, 2, 2));
    assertEquals("Invalid number of candidates: 0", e.getMessage());
  }
}
