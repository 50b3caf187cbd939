package dev.evomerge.worker.merge;

import com.google.common.base.Preconditions;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.SafetensorsFile;
import dev.evomerge.worker.io.SafetensorsWriter;
import dev.evomerge.worker.io.TensorInfo;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Statistics stored beside each source model: one folder per model holding {@code
 * fisher.safetensors} and/or {@code gram.safetensors}, F32, keyed by the tensor's name in the
 * checkpoint (a Gram matrix under the name of the linear layer's weight). Headers are read when the
 * folder is opened, so a missing file or statistic is reported before any tensor is merged.
 */
public final class StatisticsFolder implements MergeStatistics {
  /** Default folder of a model's statistics, inside the model's folder. */
  public static final String DEFAULT_SUBFOLDER = "statistics";

  private final Map<String, Map<Kind, SafetensorsFile>> files;

  private StatisticsFolder(Map<String, Map<Kind, SafetensorsFile>> files) {
    this.files = files;
  }

  /**
   * Opens the statistics {@code kinds} of every model.
   *
   * @param folders model name to its statistics folder (path or URI)
   */
  public static StatisticsFolder open(
      Map<String, String> folders, Set<Kind> kinds, Configuration conf) {
    Map<String, Map<Kind, SafetensorsFile>> files = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : folders.entrySet()) {
      Map<Kind, SafetensorsFile> byKind = new LinkedHashMap<>();
      for (Kind kind : kinds) {
        Path path = new Path(e.getValue(), kind.fileName());
        try {
          byKind.put(kind, SafetensorsFile.open(path, conf));
        } catch (RuntimeException ex) {
          throw new IllegalArgumentException(
              String.format(
                  "Cannot open %s of model %s: %s", kind.label(), e.getKey(), ex.getMessage()),
              ex);
        }
      }
      files.put(e.getKey(), byKind);
    }
    return new StatisticsFolder(files);
  }

  /** Writes one kind of statistics of one model into its folder (F32). */
  public static void write(
      String folder, Kind kind, Map<String, FloatTensor> tensors, Configuration conf) {
    SafetensorsWriter.write(new Path(folder, kind.fileName()), conf, tensors, DType.F32);
  }

  @Override
  public long[] shape(Kind kind, String model, String tensor) {
    TensorInfo info = file(kind, model).tensors().get(tensor);
    return info == null ? null : info.shape();
  }

  @Override
  public FloatTensor read(Kind kind, String model, String tensor) {
    SafetensorsFile file = file(kind, model);
    return file.tensors().containsKey(tensor) ? file.readFloat(tensor) : null;
  }

  private SafetensorsFile file(Kind kind, String model) {
    Map<Kind, SafetensorsFile> byKind = files.get(model);
    Preconditions.checkArgument(
        byKind != null && byKind.containsKey(kind),
        "No %s folder for model %s (known: %s)",
        kind.label(),
        model,
        files.keySet());
    return byKind.get(kind);
  }
}
