package dev.evomerge.driver.toy;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelWriter;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.LlamaModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;

/**
 * Writes {@code source-0..n-1} (HF folders with random weights from a seed), {@code dev.jsonl} and
 * {@code test.jsonl} (text sampled from the target {@code sum mix_i * source_i}) and {@code
 * zoo.json} (the mix).
 */
public final class ToyZoo {
  /** Characters of the toy vocabulary; ids start after the three special tokens. */
  static final String CHARS = "abcdefghijklmnopqrstuvwxyz .,";

  static final int SPECIALS = 3;
  private static final ObjectMapper JSON = new ObjectMapper();

  private ToyZoo() {}

  /** Shape of the toy models. */
  public static LlamaConfig config() {
    return new LlamaConfig(
        "LlamaForCausalLM",
        SPECIALS + CHARS.length(),
        64,
        176,
        2,
        4,
        2,
        16,
        1e-5,
        10000.0,
        false,
        1,
        2);
  }

  /** What {@link #create} wrote. */
  public record Zoo(Path dir, List<Path> sources, Path devSet, Path testSet, double[] targetMix) {}

  /** The zoo already in {@code dir} when it is complete, else {@link #create}. */
  public static Zoo openOrCreate(
      Path dir, long seed, double[] targetMix, int devRows, int rowLength) {
    List<Path> sources = new ArrayList<>();
    for (int i = 0; i < targetMix.length; i++) {
      sources.add(dir.resolve("source-" + i));
    }
    Path dev = dir.resolve("dev.jsonl");
    Path test = dir.resolve("test.jsonl");
    boolean complete =
        Files.exists(dir.resolve("zoo.json"))
            && Files.exists(dev)
            && Files.exists(test)
            && sources.stream().allMatch(Files::isDirectory);
    return complete
        ? new Zoo(dir, sources, dev, test, targetMix.clone())
        : create(dir, seed, targetMix, devRows, rowLength);
  }

  public static Zoo create(Path dir, long seed, double[] targetMix, int devRows, int rowLength) {
    LlamaConfig config = config();
    try {
      Files.createDirectories(dir);
      Path tokenizerDir = Files.createTempDirectory(dir, ".tokenizer");
      List<Path> tokenizerFiles = writeTokenizer(tokenizerDir);
      List<Map<String, FloatTensor>> sources = new ArrayList<>();
      List<Path> sourceDirs = new ArrayList<>();
      for (int i = 0; i < targetMix.length; i++) {
        Map<String, FloatTensor> weights = randomWeights(config, new SplittableRandom(seed + i));
        sources.add(weights);
        Path out = dir.resolve("source-" + i);
        if (!Files.exists(out)) {
          HfModelWriter.write(
              new org.apache.hadoop.fs.Path(out.toUri()),
              new Configuration(),
              config.toJson(JSON.createObjectNode()),
              weights,
              DType.F32,
              tokenizerFiles.stream().map(p -> new org.apache.hadoop.fs.Path(p.toUri())).toList());
        }
        sourceDirs.add(out);
      }
      for (Path p : tokenizerFiles) {
        Files.delete(p);
      }
      Files.delete(tokenizerDir);
      Map<String, FloatTensor> target = mix(sources, targetMix);
      List<String> rows =
          sample(config, target, new SplittableRandom(seed ^ 0x5DEECE66DL), devRows, rowLength);
      Path dev = dir.resolve("dev.jsonl");
      StringBuilder lines = new StringBuilder();
      for (String row : rows) {
        lines.append(JSON.createObjectNode().put("text", row)).append('\n');
      }
      Files.writeString(dev, lines.toString(), StandardCharsets.UTF_8);
      // a held-out split from the same target, never used for selection
      Path test = dir.resolve("test.jsonl");
      StringBuilder testLines = new StringBuilder();
      for (String row :
          sample(config, target, new SplittableRandom(seed ^ 0x7E57L), devRows, rowLength)) {
        testLines.append(JSON.createObjectNode().put("text", row)).append('\n');
      }
      Files.writeString(test, testLines.toString(), StandardCharsets.UTF_8);
      ObjectNode about = JSON.createObjectNode();
      about.put("seed", seed);
      about.put(
          "description", "dev.jsonl and test.jsonl are sampled from sum(target_mix[i] * source-i)");
      ArrayNode mixNode = about.putArray("target_mix");
      for (double m : targetMix) {
        mixNode.add(m);
      }
      Files.writeString(
          dir.resolve("zoo.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(about));
      return new Zoo(dir, sourceDirs, dev, test, targetMix.clone());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write toy zoo in " + dir, e);
    }
  }

  /** A character-level BPE {@code tokenizer.json} (no merges) and its tokenizer_config.json. */
  static List<Path> writeTokenizer(Path dir) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    String[] specials = {"<unk>", "<s>", "</s>"};
    for (int i = 0; i < specials.length; i++) {
      added
          .addObject()
          .put("id", i)
          .put("content", specials[i])
          .put("single_word", false)
          .put("lstrip", false)
          .put("rstrip", false)
          .put("normalized", false)
          .put("special", true);
    }
    root.putNull("normalizer");
    root.putNull("pre_tokenizer");
    root.putNull("post_processor");
    root.putNull("decoder");
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE");
    model.putNull("dropout");
    model.put("unk_token", "<unk>");
    model.putNull("continuing_subword_prefix");
    model.putNull("end_of_word_suffix");
    model.put("fuse_unk", false);
    model.put("byte_fallback", false);
    ObjectNode vocab = model.putObject("vocab");
    for (int i = 0; i < specials.length; i++) {
      vocab.put(specials[i], i);
    }
    for (int i = 0; i < CHARS.length(); i++) {
      vocab.put(String.valueOf(CHARS.charAt(i)), SPECIALS + i);
    }
    model.putArray("merges");
    Path tokenizer = dir.resolve("tokenizer.json");
    Files.writeString(tokenizer, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    ObjectNode tc = JSON.createObjectNode();
    tc.put("bos_token", "<s>");
    tc.put("eos_token", "</s>");
    tc.put("unk_token", "<unk>");
    tc.put("model_max_length", 256);
    tc.put("tokenizer_class", "PreTrainedTokenizerFast");
    Path tokenizerConfig = dir.resolve("tokenizer_config.json");
    Files.writeString(
        tokenizerConfig, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tc));
    return List.of(tokenizer, tokenizerConfig);
  }

  static Map<String, FloatTensor> randomWeights(LlamaConfig config, SplittableRandom random) {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    for (LlamaConfig.TensorShape t : config.expectedTensors()) {
      float[] data = new float[(int) FloatTensor.numel(t.shape())];
      if (t.shape().length == 1) {
        for (int i = 0; i < data.length; i++) {
          data[i] = (float) (1 + 0.1 * gaussian(random));
        }
      } else {
        // untied head scaled for next-token logits of std ~2.5 after the final RMSNorm: peaked
        // enough that sources disagree clearly, flat enough that sampled text varies
        double std =
            t.name().equals("lm_head.weight")
                ? 0.3
                : t.name().contains("embed_tokens") ? 1.0 : 1.0 / Math.sqrt(t.shape()[1]);
        for (int i = 0; i < data.length; i++) {
          data[i] = (float) (std * gaussian(random));
        }
      }
      out.put(t.name(), new FloatTensor(t.shape(), data));
    }
    return out;
  }

  static Map<String, FloatTensor> mix(List<Map<String, FloatTensor>> sources, double[] mix) {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    for (String name : sources.get(0).keySet()) {
      FloatTensor first = sources.get(0).get(name);
      float[] data = new float[first.data().length];
      for (int s = 0; s < sources.size(); s++) {
        float[] x = sources.get(s).get(name).data();
        for (int i = 0; i < data.length; i++) {
          data[i] += (float) (mix[s] * x[i]);
        }
      }
      out.put(name, new FloatTensor(first.shape(), data));
    }
    return out;
  }

  /** Samples rows character by character from the model (temperature 1, seeded). */
  static List<String> sample(
      LlamaConfig config,
      Map<String, FloatTensor> weights,
      SplittableRandom random,
      int rows,
      int length) {
    try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
      Map<String, NDArray> arrays = new LinkedHashMap<>();
      weights.forEach((k, v) -> arrays.put(k, manager.create(v.data(), new Shape(v.shape()))));
      LlamaModel model = new LlamaModel(config, arrays);
      long[][] ids = new long[rows][length + 1];
      for (long[] row : ids) {
        row[0] = config.bosTokenId();
      }
      int vocab = config.vocabSize();
      for (int t = 1; t <= length; t++) {
        try (NDManager step = manager.newSubManager()) {
          long[] flat = new long[rows * t];
          for (int r = 0; r < rows; r++) {
            System.arraycopy(ids[r], 0, flat, r * t, t);
          }
          NDArray input = step.create(flat, new Shape(rows, t));
          NDArray logits = model.logits(input).get(":, " + (t - 1) + ", :");
          logits.attach(step);
          float[] values = logits.toFloatArray();
          for (int r = 0; r < rows; r++) {
            ids[r][t] = sampleChar(values, r * vocab, vocab, random);
          }
        }
      }
      List<String> out = new ArrayList<>();
      for (long[] row : ids) {
        StringBuilder sb = new StringBuilder();
        for (int t = 1; t <= length; t++) {
          sb.append(CHARS.charAt((int) row[t] - SPECIALS));
        }
        out.add(sb.toString());
      }
      return out;
    }
  }

  /** Draws one character id from the softmax over character logits (specials excluded). */
  private static int sampleChar(float[] logits, int offset, int vocab, SplittableRandom random) {
    double max = Double.NEGATIVE_INFINITY;
    for (int v = SPECIALS; v < vocab; v++) {
      max = Math.max(max, logits[offset + v]);
    }
    double[] p = new double[vocab];
    double sum = 0;
    for (int v = SPECIALS; v < vocab; v++) {
      p[v] = Math.exp(logits[offset + v] - max);
      sum += p[v];
    }
    double u = random.nextDouble() * sum;
    for (int v = SPECIALS; v < vocab; v++) {
      u -= p[v];
      if (u <= 0) {
        return v;
      }
    }
    return vocab - 1;
  }

  private static double gaussian(SplittableRandom random) {
    double u1 = 1.0 - random.nextDouble();
    double u2 = random.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
