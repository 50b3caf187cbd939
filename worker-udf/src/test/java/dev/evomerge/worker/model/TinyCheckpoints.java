package dev.evomerge.worker.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;

/** Tiny random checkpoints in Hugging Face layout, for tests of this and other packages. */
public final class TinyCheckpoints {
  private TinyCheckpoints() {}

  /** Llama, 2 layers, 4 query heads, {@code kvHeads} KV heads, head_dim 4, vocab 20. */
  public static LlamaConfig llama(int kvHeads) {
    return new LlamaConfig(
        "LlamaForCausalLM", 20, 16, 24, 2, 4, kvHeads, 4, 1e-5, 10000.0, false, 1, 2);
  }

  /** Random weights: norms near 1, matrices and biases Gaussian. */
  public static Map<String, FloatTensor> random(LlamaConfig config, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    for (LlamaConfig.TensorShape t : config.expectedTensors()) {
      float[] data = new float[(int) FloatTensor.numel(t.shape())];
      boolean norm = t.name().endsWith("norm.weight");
      for (int i = 0; i < data.length; i++) {
        data[i] = (float) (norm ? 1 + 0.1 * r.nextGaussian() : 0.4 * r.nextGaussian());
      }
      out.put(t.name(), new FloatTensor(t.shape(), data));
    }
    return out;
  }

  /** Writes {@code config} with random weights (seeded) as a model folder in {@code dtype}. */
  public static Path write(
      Path dir, LlamaConfig config, long seed, DType dtype, List<Path> tokenizerFiles) {
    return write(dir, config, random(config, seed), dtype, tokenizerFiles);
  }

  public static Path write(
      Path dir,
      LlamaConfig config,
      Map<String, FloatTensor> weights,
      DType dtype,
      List<Path> tokenizerFiles) {
    Map<String, FloatTensor> tensors = new LinkedHashMap<>(weights);
    if (config.tieWordEmbeddings()) {
      // as some HF checkpoints do: a stored lm_head that tying makes irrelevant
      FloatTensor emb = tensors.get("model.embed_tokens.weight");
      tensors.put("lm_head.weight", new FloatTensor(emb.shape(), new float[emb.data().length]));
    }
    HfModelWriter.write(
        new org.apache.hadoop.fs.Path(dir.toUri()),
        new Configuration(),
        config.toJson(new ObjectMapper().createObjectNode()),
        tensors,
        dtype,
        tokenizerFiles.stream().map(p -> new org.apache.hadoop.fs.Path(p.toUri())).toList());
    return dir;
  }
}
