package dev.evomerge.worker.stats;

import java.io.Serializable;
import java.util.Map;

/**
 * What every shard of a statistics job needs besides its rows.
 *
 * @param models model name to its folder URI
 * @param options what to compute
 * @param hadoopConf Hadoop settings the executors open the folders with
 */
public record StatisticsSpec(
    Map<String, String> models, StatisticsOptions options, Map<String, String> hadoopConf)
    implements Serializable {
  public StatisticsSpec {
    models = Map.copyOf(models);
    hadoopConf = Map.copyOf(hadoopConf);
  }
}
