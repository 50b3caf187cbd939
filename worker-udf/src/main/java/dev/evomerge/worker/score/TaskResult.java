package dev.evomerge.worker.score;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A task's partial over some rows together with its per-row results; results of disjoint shards add
 * up.
 */
public record TaskResult(TaskPartial partial, List<ExampleResult> examples)
    implements Serializable {
  public TaskResult {
    examples = List.copyOf(examples);
  }

  /** The union of two shards' results, rows ordered by index. */
  public TaskResult plus(TaskResult o) {
    List<ExampleResult> all = new ArrayList<>(examples);
    all.addAll(o.examples);
    all.sort(Comparator.comparingLong(ExampleResult::index));
    return new TaskResult(partial.plus(o.partial), all);
  }
}
