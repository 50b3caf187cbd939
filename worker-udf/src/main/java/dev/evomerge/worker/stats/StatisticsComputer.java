package dev.evomerge.worker.stats;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import com.google.common.base.Preconditions;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.LlamaModel;
import dev.evomerge.worker.model.ModelWeights;
import dev.evomerge.worker.score.TextTokenizer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Computes {@link ModelStatistics} of one model on token sequences, one sequence at a time (the
 * Fisher needs each sequence's own gradient: the square of a batch's gradient is not the sum of the
 * squares). Each sequence {@code s} is fed as inputs {@code s[0..n-2]} with targets {@code
 * s[1..n-1]}; its log-likelihood is the sum of the targets' log-probabilities.
 *
 * <p>Memory, beyond the model's F32 weights and one sequence's activations (and their gradients):
 * the Fisher accumulators, one F32 array per tensor (the model's size again, plus its gradients
 * during a backward pass), and the Gram accumulators, {@code 4 d_in^2} bytes per linear layer, all
 * on the compute device. The Gram total is checked against {@link StatisticsOptions#maxGramBytes()}
 * before anything is computed, naming the largest layer.
 */
public final class StatisticsComputer {
  /**
   * DJL's PyTorch engine allows one gradient collector per JVM at a time: Fisher passes of
   * concurrent tasks (executor cores sharing a JVM) take turns on this lock; Gram-only passes do
   * not need it.
   */
  private static final Object AUTOGRAD = new Object();

  private StatisticsComputer() {}

  /**
   * The linear layers whose inputs have a Gram matrix, weight name to {@code d_in}: every 2-D
   * tensor but the embedding, which counts as the LM head when the head is tied to it.
   */
  public static Map<String, Long> linearLayers(LlamaConfig config) {
    Map<String, Long> out = new LinkedHashMap<>();
    for (LlamaConfig.TensorShape t : config.expectedTensors()) {
      boolean embedding = t.name().equals("model.embed_tokens.weight");
      if (t.shape().length == 2 && (!embedding || config.tieWordEmbeddings())) {
        out.put(t.name(), t.shape()[1]);
      }
    }
    return out;
  }

  /** Fails, naming the largest layer, when the Gram accumulators exceed the options' bound. */
  public static long checkGramMemory(LlamaConfig config, StatisticsOptions options, String model) {
    if (!options.gram()) {
      return 0;
    }
    long total = 0;
    String largest = null;
    long largestBytes = 0;
    for (Map.Entry<String, Long> e : linearLayers(config).entrySet()) {
      long in = e.getValue();
      long block = options.gramBlockOf(in);
      Preconditions.checkArgument(
          in % block == 0,
          "Gram block %s does not divide the %s inputs of layer %s of model %s",
          block,
          in,
          e.getKey(),
          model);
      long bytes = 4L * in * block;
      total += bytes;
      if (bytes > largestBytes) {
        largestBytes = bytes;
        largest = e.getKey();
      }
    }
    Preconditions.checkArgument(
        total <= options.maxGramBytes(),
        "Gram matrices of model %s need %s bytes (largest: %s, %s bytes), over the bound of %s"
            + " bytes (raise --max-gram-bytes or evomerge.statistics.max-gram-bytes, keep diagonal"
            + " blocks with --gram-block or evomerge.statistics.gram-block, or compute Fisher only)",
        model,
        total,
        largest,
        largestBytes,
        options.maxGramBytes());
    return total;
  }

  /**
   * BOS (if the model uses one) and the text's tokens, cut to {@code maxLength}; texts of fewer
   * than two tokens carry no next-token likelihood and are skipped.
   */
  public static List<long[]> tokenize(TextTokenizer tokenizer, List<String> texts, int maxLength) {
    List<long[]> out = new ArrayList<>();
    long[] prefix = tokenizer.prefix();
    for (String text : texts) {
      long[] ids = tokenizer.encode(text);
      int n = Math.min(prefix.length + ids.length, maxLength);
      if (n < 2) {
        continue;
      }
      long[] s = new long[n];
      System.arraycopy(prefix, 0, s, 0, Math.min(prefix.length, n));
      if (n > prefix.length) {
        System.arraycopy(ids, 0, s, prefix.length, n - prefix.length);
      }
      out.add(s);
    }
    return out;
  }

  /** Loads {@code folder}'s weights on {@code device} and computes its statistics. */
  public static ModelStatistics compute(
      HfModelFolder folder, List<long[]> sequences, StatisticsOptions options, Device device) {
    LlamaConfig config = ModelWeights.config(folder);
    checkGramMemory(config, options, folder.uri());
    try (NDManager manager = NDManager.newBaseManager(device)) {
      Map<String, NDArray> weights = ModelWeights.load(folder, config, manager);
      return compute(config, weights, sequences, options, folder.uri());
    }
  }

  /**
   * Computes the statistics of the model made of {@code weights} (F32, as {@link LlamaModel} needs;
   * their gradients are switched on when the Fisher is asked for, and cleared again).
   *
   * @param model the model's name in error messages
   */
  public static ModelStatistics compute(
      LlamaConfig config,
      Map<String, NDArray> weights,
      List<long[]> sequences,
      StatisticsOptions options,
      String model) {
    checkGramMemory(config, options, model);
    for (int i = 0; i < sequences.size(); i++) {
      long[] s = sequences.get(i);
      Preconditions.checkArgument(
          s.length >= 2,
          "Statistics sequence %s of model %s has %s tokens, needs 2",
          i,
          model,
          s.length);
      Preconditions.checkArgument(
          s.length <= options.maxLength(),
          "Statistics sequence %s of model %s has %s tokens, over the max length %s",
          i,
          model,
          s.length,
          options.maxLength());
      for (long id : s) {
        Preconditions.checkArgument(
            id >= 0 && id < config.vocabSize(),
            "Statistics sequence %s of model %s has token id %s outside the vocabulary of %s",
            i,
            model,
            id,
            config.vocabSize());
      }
    }
    LlamaModel llama = new LlamaModel(config, weights);
    NDManager manager = weights.values().iterator().next().getManager();
    try (NDManager acc = manager.newSubManager()) {
      Map<String, NDArray> fisher = new LinkedHashMap<>();
      Map<String, NDArray> gram = new LinkedHashMap<>();
      if (options.fisher()) {
        weights.forEach(
            (name, w) -> {
              fisher.put(name, acc.zeros(w.getShape()));
              w.setRequiresGradient(true);
            });
      }
      if (options.gram()) {
        linearLayers(config)
            .forEach((name, in) -> gram.put(name, acc.zeros(new Shape(options.gramShape(in)))));
        llama.observeLinearInputs(
            (name, x) -> {
              long in = x.getShape().get(x.getShape().dimension() - 1);
              long b = options.gramBlockOf(in);
              NDArray rows = x.stopGradient().reshape(-1, in);
              if (b == in) {
                gram.get(name).addi(rows.transpose().matMul(rows));
              } else {
                // the diagonal blocks only: [nb, T, b]^T [nb, T, b] = [nb, b, b]
                NDArray blocks = rows.reshape(-1, in / b, b).transpose(1, 0, 2);
                gram.get(name).addi(blocks.transpose(0, 2, 1).matMul(blocks));
              }
            });
      }
      long tokens = 0;
      try {
        for (long[] s : sequences) {
          try (NDScope scope = new NDScope()) {
            sequence(manager, llama, weights, fisher, s);
          }
          tokens += s.length - 1;
        }
      } finally {
        if (options.fisher()) {
          weights.values().forEach(w -> w.setRequiresGradient(false));
        }
      }
      return new ModelStatistics(sequences.size(), tokens, toFloat(fisher), toFloat(gram));
    }
  }

  private static void sequence(
      NDManager manager,
      LlamaModel llama,
      Map<String, NDArray> weights,
      Map<String, NDArray> fisher,
      long[] s) {
    int n = s.length - 1;
    long[] inputs = new long[n];
    long[] targets = new long[n];
    System.arraycopy(s, 0, inputs, 0, n);
    System.arraycopy(s, 1, targets, 0, n);
    NDArray ids = manager.create(inputs, new Shape(1, n));
    NDArray next = manager.create(targets, new Shape(1, n, 1));
    if (fisher.isEmpty()) {
      llama.logits(ids);
      return;
    }
    synchronized (AUTOGRAD) {
      try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        NDArray logLikelihood = llama.logProbs(ids).gather(next, -1).sum();
        collector.backward(logLikelihood);
      }
    }
    for (Map.Entry<String, NDArray> e : weights.entrySet()) {
      NDArray g = e.getValue().getGradient();
      fisher.get(e.getKey()).addi(g.square());
      // gradients accumulate across backward passes: clear them for the next sequence
      g.subi(g);
    }
  }

  private static Map<String, FloatTensor> toFloat(Map<String, NDArray> arrays) {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    arrays.forEach(
        (name, a) ->
            out.put(
                name,
                new FloatTensor(
                    a.getShape().getShape(), a.toType(DataType.FLOAT32, false).toFloatArray())));
    return out;
  }
}
