package dev.evomerge.driver.zoo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The zoo's word-level vocabulary: {@code <unk>}, {@code <s>}, {@code </s>}, then every word, and
 * its Hugging Face {@code tokenizer.json} (a {@code WordLevel} model after a whitespace split, so
 * the HF tokenizer gives exactly {@link #encode}'s ids and decodes by joining with spaces).
 */
final class WordVocabulary {
  static final int UNK = 0;
  static final int BOS = 1;
  static final int EOS = 2;
  private static final String[] SPECIALS = {"<unk>", "<s>", "</s>"};
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, Integer> ids = new LinkedHashMap<>();

  WordVocabulary(Collection<String> words) {
    for (String s : SPECIALS) {
      ids.put(s, ids.size());
    }
    for (String w : words) {
      ids.putIfAbsent(w, ids.size());
    }
  }

  int size() {
    return ids.size();
  }

  /** BOS, the words' ids, EOS: a training sequence; an unknown word is an error naming it. */
  long[] encode(String text) {
    String[] words = text.trim().split(" ");
    long[] out = new long[words.length + 2];
    out[0] = BOS;
    for (int i = 0; i < words.length; i++) {
      Integer id = ids.get(words[i]);
      if (id == null) {
        throw new IllegalArgumentException("Word " + words[i] + " is not in the zoo vocabulary");
      }
      out[i + 1] = id;
    }
    out[out.length - 1] = EOS;
    return out;
  }

  /** Writes tokenizer.json and tokenizer_config.json into {@code dir}; returns their paths. */
  List<Path> write(Path dir) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    for (int i = 0; i < SPECIALS.length; i++) {
      added
          .addObject()
          .put("id", i)
          .put("content", SPECIALS[i])
          .put("single_word", false)
          .put("lstrip", false)
          .put("rstrip", false)
          .put("normalized", false)
          .put("special", true);
    }
    root.putNull("normalizer");
    root.putObject("pre_tokenizer").put("type", "WhitespaceSplit");
    root.putNull("post_processor");
    root.putNull("decoder");
    ObjectNode model = root.putObject("model");
    model.put("type", "WordLevel");
    ObjectNode vocab = model.putObject("vocab");
    ids.forEach(vocab::put);
    model.put("unk_token", "<unk>");
    Path tokenizer = dir.resolve("tokenizer.json");
    Files.writeString(tokenizer, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    ObjectNode tc = JSON.createObjectNode();
    tc.put("bos_token", SPECIALS[BOS]);
    tc.put("eos_token", SPECIALS[EOS]);
    tc.put("unk_token", SPECIALS[UNK]);
    tc.put("model_max_length", 256);
    tc.put("tokenizer_class", "PreTrainedTokenizerFast");
    Path config = dir.resolve("tokenizer_config.json");
    Files.writeString(config, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tc));
    return new ArrayList<>(List.of(tokenizer, config));
  }
}
