package dev.evomerge.worker.eval;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.HfModelWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Writes a candidate's merged weights as an HF checkpoint with the same combine code the executors
 * score with, one tensor at a time, so the written model is the evaluated one.
 */
public final class MergedModelWriter {
  private MergedModelWriter() {}

  public static void writeLinear(
      EvalSpec spec, double[] weights, Path target, DType dtype, ObjectNode extraConfig) {
    Configuration conf = ResidentSources.hadoopConf(spec);
    List<HfModelFolder> folders = new ArrayList<>();
    for (String uri : spec.sourceUris()) {
      folders.add(HfModelFolder.open(uri, conf));
    }
    Map<String, FloatTensor> merged = new LinkedHashMap<>();
    try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
      for (String name : folders.get(0).tensors().keySet()) {
        try (NDScope scope = new NDScope()) {
          scope.suppressNotUsedWarning();
          List<Map<String, NDArray>> inputs = new ArrayList<>();
          for (HfModelFolder folder : folders) {
            FloatTensor t = folder.readFloat(name);
            inputs.add(Map.of(name, manager.create(t.data(), new Shape(t.shape()))));
          }
          NDArray out = LinearCombine.combine(inputs, weights, spec.normalize()).get(name);
          merged.put(name, new FloatTensor(out.getShape().getShape(), out.toFloatArray()));
        }
      }
    }
    ObjectNode config = folders.get(0).config();
    if (extraConfig != null) {
      config.setAll(extraConfig);
    }
    Path tokenizerFolder = new Path(spec.tokenizerUri()).getParent();
    HfModelWriter.write(
        target,
        conf,
        config,
        merged,
        dtype,
        HfModelFolder.open(tokenizerFolder.toString(), conf).tokenizerFiles());
  }
}
