package dev.evomerge.worker.eval;

import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * What every executor needs to know once per run (broadcast once, a few hundred bytes).
 *
 * @param sourceUris absolute URIs of the source model folders, in genome order
 * @param tokenizerUri URI of the {@code tokenizer.json} to score with
 * @param normalize whether merge weights are divided by their sum (mergekit linear default)
 * @param maxLength longest token sequence scored, BOS included
 * @param batchSize rows per forward pass
 * @param hadoopConf Hadoop settings (for example {@code fs.s3a.*}) executors open files with
 */
public record EvalSpec(
    List<String> sourceUris,
    String tokenizerUri,
    boolean normalize,
    int maxLength,
    int batchSize,
    Map<String, String> hadoopConf)
    implements Serializable {
  public EvalSpec {
    sourceUris = List.copyOf(sourceUris);
    hadoopConf = Map.copyOf(hadoopConf);
  }
}
