package dev.evomerge.worker.score;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.evomerge.worker.model.KvCache;
import dev.evomerge.worker.model.LanguageModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Greedy decoding with a KV cache: prompts of similar length are batched, left-padded (so every
 * row's next token comes from the last column), and each row stops at EOS, at a stop string (the
 * output is cut before it) or after {@code maxNewTokens}.
 */
public final class GreedyGenerator {
  private GreedyGenerator() {}

  /** Generated token ids per prompt (EOS excluded), before stop strings are applied. */
  public static List<long[]> generateIds(
      LanguageModel model,
      NDManager manager,
      TextTokenizer tokenizer,
      List<long[]> prompts,
      int maxNewTokens,
      List<String> stop,
      int batchSize) {
    List<long[]> out = new ArrayList<>(prompts.size());
    for (int i = 0; i < prompts.size(); i++) {
      out.add(null);
    }
    Integer[] order = IntStream.range(0, prompts.size()).boxed().toArray(Integer[]::new);
    Arrays.sort(order, Comparator.comparingInt((Integer i) -> -prompts.get(i).length));
    for (int start = 0; start < order.length; start += batchSize) {
      int end = Math.min(order.length, start + batchSize);
      List<long[]> batch = new ArrayList<>();
      for (int i = start; i < end; i++) {
        batch.add(prompts.get(order[i]));
      }
      List<long[]> generated = batch(model, manager, tokenizer, batch, maxNewTokens, stop);
      for (int i = start; i < end; i++) {
        out.set(order[i], generated.get(i - start));
      }
    }
    return out;
  }

  /** Generated text per prompt, cut before the first stop string. */
  public static List<String> generate(
      LanguageModel model,
      NDManager manager,
      TextTokenizer tokenizer,
      List<long[]> prompts,
      int maxNewTokens,
      List<String> stop,
      int batchSize) {
    List<String> out = new ArrayList<>();
    for (long[] ids :
        generateIds(model, manager, tokenizer, prompts, maxNewTokens, stop, batchSize)) {
      out.add(cut(tokenizer.decode(ids), stop));
    }
    return out;
  }

  static String cut(String text, List<String> stop) {
    int at = text.length();
    for (String s : stop) {
      int i = text.indexOf(s);
      if (i >= 0) {
        at = Math.min(at, i);
      }
    }
    return text.substring(0, at);
  }

  private static List<long[]> batch(
      LanguageModel model,
      NDManager manager,
      TextTokenizer tokenizer,
      List<long[]> prompts,
      int maxNewTokens,
      List<String> stop) {
    int rows = prompts.size();
    int width = 1;
    for (long[] p : prompts) {
      width = Math.max(width, p.length);
    }
    long[] ids = new long[rows * width];
    long[] mask = new long[rows * width];
    for (int r = 0; r < rows; r++) {
      long[] p = prompts.get(r);
      int pad = width - p.length;
      System.arraycopy(p, 0, ids, r * width + pad, p.length);
      Arrays.fill(mask, r * width + pad, (r + 1) * width, 1);
    }
    long eos = tokenizer.eosTokenId();
    long[][] generated = new long[rows][maxNewTokens];
    int[] lengths = new int[rows];
    boolean[] done = new boolean[rows];
    // one scope per step: activations of a step are freed before the next, the cache owns K/V
    try (KvCache cache = model.newCache(rows)) {
      long[] next;
      try (NDScope scope = new NDScope()) {
        scope.suppressNotUsedWarning();
        next =
            model
                .nextTokenLogits(
                    manager.create(ids, new Shape(rows, width)),
                    manager.create(mask, new Shape(rows, width)),
                    cache)
                .argMax(-1)
                .toLongArray();
      }
      for (int step = 0; step < maxNewTokens; step++) {
        boolean all = true;
        for (int r = 0; r < rows; r++) {
          if (done[r]) {
            continue;
          }
          if (next[r] == eos) {
            done[r] = true;
            continue;
          }
          generated[r][lengths[r]++] = next[r];
          if (!stop.isEmpty()) {
            String text = tokenizer.decode(Arrays.copyOf(generated[r], lengths[r]));
            done[r] = stop.stream().anyMatch(text::contains);
          }
          all &= done[r];
        }
        if (all || step == maxNewTokens - 1) {
          break;
        }
        // finished rows keep decoding their last token; their output is no longer read
        try (NDScope scope = new NDScope()) {
          scope.suppressNotUsedWarning();
          next =
              model
                  .nextTokenLogits(manager.create(next, new Shape(rows, 1)), null, cache)
                  .argMax(-1)
                  .toLongArray();
        }
      }
    }
    List<long[]> out = new ArrayList<>();
    for (int r = 0; r < rows; r++) {
      out.add(Arrays.copyOf(generated[r], lengths[r]));
    }
    return out;
  }
}
