package dev.evomerge.worker.score;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.LlamaModel;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A character-level tokenizer and a Llama whose layers are all zero, so that it is exactly a bigram
 * model: the embedding is one-hot and the LM head is set so that the logits after token {@code a}
 * are row {@code a} of a table the test chooses. Expected log-likelihoods then follow from the
 * table by hand, independently of the runtime.
 */
final class BigramFixture {
  static final String CHARS = "0123456789 +=ab";
  static final int SPECIALS = 3;
  static final int VOCAB = SPECIALS + CHARS.length();
  static final int BOS = 1;
  static final int EOS = 2;
  static final ObjectMapper JSON = new ObjectMapper();

  final double[][] table = new double[VOCAB][VOCAB];

  static int id(char c) {
    int i = CHARS.indexOf(c);
    if (i < 0) {
      throw new IllegalArgumentException("not in vocabulary: " + c);
    }
    return SPECIALS + i;
  }

  /** Sets the logit of {@code next} after {@code prev}. */
  BigramFixture set(int prev, int next, double logit) {
    table[prev][next] = logit;
    return this;
  }

  /** log p(next | prev) from the table, in double. */
  double logp(int prev, int next) {
    double z = 0;
    for (double v : table[prev]) {
      z += Math.exp(v);
    }
    return table[prev][next] - Math.log(z);
  }

  /** Sum of log p over a text's characters, starting after {@code prev}. */
  double logp(int prev, String text) {
    double s = 0;
    for (char c : text.toCharArray()) {
      s += logp(prev, id(c));
      prev = id(c);
    }
    return s;
  }

  static LlamaConfig config() {
    return new LlamaConfig(
        "LlamaForCausalLM", VOCAB, VOCAB, 8, 1, 2, 1, 4, 1e-6, 10000.0, false, BOS, EOS);
  }

  LlamaModel model(NDManager manager) {
    LlamaConfig c = config();
    double s = 1 / Math.sqrt(1.0 / VOCAB + c.rmsNormEps());
    Map<String, NDArray> w = new LinkedHashMap<>();
    for (LlamaConfig.TensorShape t : c.expectedTensors()) {
      float[] data = new float[(int) FloatTensor.numel(t.shape())];
      if (t.name().endsWith("norm.weight")) {
        java.util.Arrays.fill(data, 1f);
      } else if (t.name().equals("model.embed_tokens.weight")) {
        for (int i = 0; i < VOCAB; i++) {
          data[i * VOCAB + i] = 1f;
        }
      } else if (t.name().equals("lm_head.weight")) {
        for (int v = 0; v < VOCAB; v++) {
          for (int h = 0; h < VOCAB; h++) {
            data[v * VOCAB + h] = (float) (table[h][v] / s);
          }
        }
      }
      w.put(t.name(), manager.create(data, new Shape(t.shape())));
    }
    return new LlamaModel(c, w);
  }

  static String tokenizerJson() {
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
    root.putObject("decoder").put("type", "Fuse");
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
    return root.toString();
  }

  static String tokenizerConfigJson(boolean addBos) {
    ObjectNode tc = JSON.createObjectNode();
    tc.put("bos_token", "<s>");
    tc.putObject("eos_token").put("content", "</s>");
    tc.put("add_bos_token", addBos);
    return tc.toString();
  }

  static TextTokenizer tokenizer(boolean addBos) {
    try {
      return TextTokenizer.load(
          new ByteArrayInputStream(tokenizerJson().getBytes(StandardCharsets.UTF_8)),
          new ByteArrayInputStream(tokenizerConfigJson(addBos).getBytes(StandardCharsets.UTF_8)),
          // deliberately wrong ids: the tokenizer config must win
          new LlamaConfig(
              "LlamaForCausalLM", VOCAB, VOCAB, 8, 1, 2, 1, 4, 1e-6, 10000.0, false, 7, 8));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes tokenizer.json and tokenizer_config.json into {@code dir}. */
  static void writeTokenizer(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("tokenizer.json"), tokenizerJson());
    Files.writeString(dir.resolve("tokenizer_config.json"), tokenizerConfigJson(true));
  }
}
