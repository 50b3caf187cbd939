package dev.evomerge.worker.score;

import java.io.Serializable;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Fitness of a candidate: the weighted mean over tasks of each task's metric, oriented by its
 * direction (a lower-is-better metric enters negated), so larger fitness is always better: {@code
 * sum_i w_i * orient_i(metric_i) / sum_i w_i}. Weights stay non-negative; direction alone decides
 * the sign.
 */
public record FitnessFunction(List<TaskSpec> tasks) implements Serializable {
  public FitnessFunction {
    tasks = List.copyOf(tasks);
    if (tasks.isEmpty()) {
      throw new IllegalArgumentException("A fitness function needs at least one task");
    }
    Set<String> names = new HashSet<>();
    double total = 0;
    for (TaskSpec t : tasks) {
      if (!names.add(t.name())) {
        throw new IllegalArgumentException("Duplicate task name " + t.name());
      }
      total += t.weight();
    }
    if (!(total > 0)) {
      throw new IllegalArgumentException("Task weights must not all be zero");
    }
  }

  /** Each task's configured metric, in task order. */
  public Map<String, Double> metrics(Map<String, TaskPartial> partials) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (TaskSpec t : tasks) {
      TaskPartial p = partials.get(t.name());
      if (p == null) {
        throw new IllegalArgumentException("No result for task " + t.name());
      }
      out.put(t.name(), p.metric(t.metric()));
    }
    return out;
  }

  /** The fitness; NaN if a weighted task has no rows. */
  public double fitness(Map<String, TaskPartial> partials) {
    Map<String, Double> m = metrics(partials);
    double sum = 0;
    double weights = 0;
    for (TaskSpec t : tasks) {
      if (t.weight() == 0) {
        continue;
      }
      sum += t.weight() * t.direction().orient(m.get(t.name()));
      weights += t.weight();
    }
    return sum / weights;
  }
}
