package dev.evomerge.driver.spark;

import com.google.common.base.Preconditions;
import dev.evomerge.worker.spark.EvaluationSlice;
import java.util.ArrayList;
import java.util.List;

/**
 * The planning rule of a generation's evaluation stage: how its (candidate, dev shard) pairs are
 * cut into tasks for {@code slots} concurrent task slots.
 *
 * <ul>
 *   <li>At least as many candidates as slots: one task per slot, each with a contiguous group of
 *       candidates (sizes differing by at most one) and every shard. Each candidate is materialised
 *       once.
 *   <li>Fewer candidates than slots: each candidate's shards are cut into {@code g = min(shards,
 *       slots / candidates)} contiguous groups, one task each, so {@code candidates × g} tasks fill
 *       the slots without a second wave. Each candidate is materialised {@code g} times, the fewest
 *       that keeps the slots busy.
 * </ul>
 *
 * Executors hold every source and every row, so any task can run anywhere; a candidate's shards are
 * scored by one task, in one executor, from one materialisation.
 */
final class TaskPlan {
  private TaskPlan() {}

  static List<EvaluationSlice> slices(int candidates, int shards, int slots) {
    Preconditions.checkArgument(candidates > 0, "Invalid number of candidates: %s", candidates);
    Preconditions.checkArgument(shards > 0, "Invalid number of dev shards: %s", shards);
    int s = Math.max(1, slots);
    List<EvaluationSlice> out = new ArrayList<>();
    if (candidates >= s) {
      for (int i = 0; i < s; i++) {
        int from = (int) ((long) i * candidates / s);
        int to = (int) ((long) (i + 1) * candidates / s);
        out.add(new EvaluationSlice(from, to, 0, shards));
      }
      return out;
    }
    int groups = Math.min(shards, s / candidates);
    for (int c = 0; c < candidates; c++) {
      for (int g = 0; g < groups; g++) {
        int from = (int) ((long) g * shards / groups);
        int to = (int) ((long) (g + 1) * shards / groups);
        out.add(new EvaluationSlice(c, c + 1, from, to));
      }
    }
    return out;
  }
}
