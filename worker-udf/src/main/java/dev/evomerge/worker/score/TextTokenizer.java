package dev.evomerge.worker.score;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} loaded offline through DJL, adding the model's BOS token
 * itself so scoring does not depend on the tokenizer's post-processor.
 */
public final class TextTokenizer implements AutoCloseable {
  private final HuggingFaceTokenizer tokenizer;
  private final long bosTokenId;

  private TextTokenizer(HuggingFaceTokenizer tokenizer, long bosTokenId) {
    this.tokenizer = tokenizer;
    this.bosTokenId = bosTokenId;
  }

  public static TextTokenizer load(InputStream tokenizerJson, long bosTokenId) throws IOException {
    HuggingFaceTokenizer tokenizer =
        HuggingFaceTokenizer.newInstance(
            tokenizerJson, Map.of("addSpecialTokens", "false", "maxLength", "512"));
    return new TextTokenizer(tokenizer, bosTokenId);
  }

  /** BOS followed by the text's tokens, cut to {@code maxLength} ids. */
  public long[] encodeWithBos(String text, int maxLength) {
    long[] ids = tokenizer.encode(text, false, false).getIds();
    long[] out = new long[Math.min(ids.length + 1, maxLength)];
    out[0] = bosTokenId;
    System.arraycopy(ids, 0, out, 1, out.length - 1);
    return out;
  }

  /** Token ids without BOS. */
  public long[] encode(String text) {
    return tokenizer.encode(text, false, false).getIds();
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
