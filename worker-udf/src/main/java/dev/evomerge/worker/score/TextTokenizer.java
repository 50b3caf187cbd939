package dev.evomerge.worker.score;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.worker.model.LlamaConfig;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A Hugging Face {@code tokenizer.json} loaded offline through DJL. Special tokens are added here,
 * not by the tokenizer's post-processor: BOS (when the model uses one, per {@code
 * tokenizer_config.json}) before a sequence, EOS to end generation.
 */
public final class TextTokenizer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HuggingFaceTokenizer tokenizer;
  private final long bosTokenId;
  private final boolean addBos;
  private final long eosTokenId;

  private TextTokenizer(
      HuggingFaceTokenizer tokenizer, long bosTokenId, boolean addBos, long eosTokenId) {
    this.tokenizer = tokenizer;
    this.bosTokenId = bosTokenId;
    this.addBos = addBos;
    this.eosTokenId = eosTokenId;
  }

  /** A tokenizer that adds {@code bosTokenId} before every sequence (EOS unknown: -1). */
  public static TextTokenizer load(InputStream tokenizerJson, long bosTokenId) throws IOException {
    return new TextTokenizer(open(tokenizerJson), bosTokenId, true, -1);
  }

  /**
   * A tokenizer with BOS/EOS from {@code tokenizer_config.json} ({@code bos_token}, {@code
   * eos_token}, {@code add_bos_token}); ids of tokens it names come from the vocabulary, falling
   * back to {@code config}'s ids. Without a tokenizer config, BOS and EOS come from {@code config}.
   *
   * @param tokenizerConfig may be null
   */
  public static TextTokenizer load(
      InputStream tokenizerJson, InputStream tokenizerConfig, LlamaConfig config)
      throws IOException {
    HuggingFaceTokenizer tokenizer = open(tokenizerJson);
    long bos = config.bosTokenId();
    long eos = config.eosTokenId();
    boolean addBos = true;
    if (tokenizerConfig != null) {
      JsonNode tc = JSON.readTree(tokenizerConfig);
      String bosToken = tokenText(tc.get("bos_token"));
      String eosToken = tokenText(tc.get("eos_token"));
      // Llama 3 has no add_bos_token (its post-processor adds BOS); Qwen2 has no BOS at all
      addBos = tc.has("add_bos_token") ? tc.get("add_bos_token").asBoolean() : bosToken != null;
      bos = bosToken == null ? bos : idOf(tokenizer, bosToken, bos);
      eos = eosToken == null ? eos : idOf(tokenizer, eosToken, eos);
    }
    return new TextTokenizer(tokenizer, bos, addBos, eos);
  }

  /** Loads {@code tokenizer.json} and, if present, {@code tokenizer_config.json} from a folder. */
  public static TextTokenizer load(Path folder, Configuration conf, LlamaConfig config)
      throws IOException {
    FileSystem fs = folder.getFileSystem(conf);
    Path tc = new Path(folder, "tokenizer_config.json");
    try (InputStream json = fs.open(new Path(folder, "tokenizer.json"));
        InputStream cfg = fs.exists(tc) ? fs.open(tc) : null) {
      return load(json, cfg, config);
    }
  }

  private static HuggingFaceTokenizer open(InputStream json) throws IOException {
    // no truncation or padding inside the tokenizer: DJL would otherwise cut at 512 tokens
    // silently; callers truncate explicitly, on the side each task kind needs
    return HuggingFaceTokenizer.newInstance(
        json,
        Map.of(
            "addSpecialTokens", "false",
            "truncation", "false",
            "padding", "false",
            "modelMaxLength", String.valueOf(Integer.MAX_VALUE)));
  }

  private static String tokenText(JsonNode n) {
    if (n == null || n.isNull()) {
      return null;
    }
    return n.isObject() ? n.path("content").asText(null) : n.asText();
  }

  private static long idOf(HuggingFaceTokenizer tokenizer, String token, long fallback) {
    long[] ids = tokenizer.encode(token, false, false).getIds();
    return ids.length == 1 ? ids[0] : fallback;
  }

  /** BOS followed by the text's tokens, cut to {@code maxLength} ids (BOS added regardless). */
  public long[] encodeWithBos(String text, int maxLength) {
    long[] ids = encode(text);
    long[] out = new long[Math.min(ids.length + 1, maxLength)];
    out[0] = bosTokenId;
    System.arraycopy(ids, 0, out, 1, out.length - 1);
    return out;
  }

  /** What starts every sequence: BOS if the model uses one, else nothing. */
  public long[] prefix() {
    return addBos ? new long[] {bosTokenId} : new long[0];
  }

  /** Token ids without special tokens. */
  public long[] encode(String text) {
    return tokenizer.encode(text, false, false).getIds();
  }

  /** Text of {@code ids}, special tokens skipped. */
  public String decode(long[] ids) {
    return tokenizer.decode(ids, true);
  }

  public long bosTokenId() {
    return bosTokenId;
  }

  /** End-of-sequence id, -1 when unknown. */
  public long eosTokenId() {
    return eosTokenId;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
