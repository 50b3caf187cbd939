package dev.evomerge.worker.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.TensorInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Loads a model folder's weights as F32 NDArrays for a {@link LlamaModel}. */
public final class ModelWeights {
  private ModelWeights() {}

  /** Parses the folder's {@code config.json}. */
  public static LlamaConfig config(HfModelFolder folder) {
    return LlamaConfig.parse(folder.config(), folder.uri() + "/" + HfModelFolder.CONFIG);
  }

  /**
   * The tensors {@code config} needs, widened to F32 in Java (BF16 never reaches DJL), created in
   * {@code manager}. Extra tensors (a tied model's stored {@code lm_head}, rotary buffers) are
   * skipped; missing or misshapen ones are errors naming the folder.
   */
  public static Map<String, NDArray> load(
      HfModelFolder folder, LlamaConfig config, NDManager manager) {
    Map<String, TensorInfo> present = folder.tensors();
    List<String> names = new ArrayList<>();
    for (LlamaConfig.TensorShape t : config.expectedTensors()) {
      TensorInfo info = present.get(t.name());
      if (info == null) {
        throw new ModelConfigException(
            String.format("Missing tensor %s in %s", t.name(), folder.uri()));
      }
      if (!Arrays.equals(info.shape(), t.shape())) {
        throw new ModelConfigException(
            String.format(
                "Tensor %s in %s has shape %s, expected %s",
                t.name(), folder.uri(), Arrays.toString(info.shape()), Arrays.toString(t.shape())));
      }
      names.add(t.name());
    }
    // shard by shard, one vectored read per batch on remote storage; each F32 copy is dropped
    // as soon as its NDArray exists
    Map<String, NDArray> read = new HashMap<>();
    folder.readFloats(
        names,
        (name, data) -> read.put(name, manager.create(data.data(), new Shape(data.shape()))));
    Map<String, NDArray> out = new LinkedHashMap<>();
    names.forEach(n -> out.put(n, read.get(n)));
    return out;
  }
}
