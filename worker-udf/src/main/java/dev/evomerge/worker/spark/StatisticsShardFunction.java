package dev.evomerge.worker.spark;

import com.google.common.base.Preconditions;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.stats.ModelStatistics;
import dev.evomerge.worker.stats.StatisticsComputer;
import dev.evomerge.worker.stats.StatisticsRow;
import dev.evomerge.worker.stats.StatisticsSpec;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.function.PairFlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import scala.Tuple2;

/**
 * Computes the partial statistics of one shard: for every model with rows in it, the model is
 * loaded on the task's device and its rows summed, one partial per model, for the driver to add.
 */
public final class StatisticsShardFunction
    implements PairFlatMapFunction<Iterator<StatisticsRow>, String, ModelStatistics> {
  private static final long serialVersionUID = 1L;

  private final Broadcast<StatisticsSpec> spec;

  public StatisticsShardFunction(Broadcast<StatisticsSpec> spec) {
    this.spec = spec;
  }

  @Override
  public Iterator<Tuple2<String, ModelStatistics>> call(Iterator<StatisticsRow> rows) {
    StatisticsSpec s = spec.value();
    Map<String, List<long[]>> byModel = new LinkedHashMap<>();
    rows.forEachRemaining(
        r -> byModel.computeIfAbsent(r.model(), k -> new ArrayList<>()).add(r.ids()));
    Configuration conf = new Configuration();
    s.hadoopConf().forEach(conf::set);
    List<Tuple2<String, ModelStatistics>> out = new ArrayList<>();
    for (Map.Entry<String, List<long[]>> e : byModel.entrySet()) {
      String uri = s.models().get(e.getKey());
      Preconditions.checkArgument(uri != null, "Statistics rows of unknown model %s", e.getKey());
      HfModelFolder folder = HfModelFolder.open(uri, conf);
      out.add(
          new Tuple2<>(
              e.getKey(),
              StatisticsComputer.compute(
                  folder, e.getValue(), s.options(), TaskDevices.current().device())));
    }
    return out.iterator();
  }
}
