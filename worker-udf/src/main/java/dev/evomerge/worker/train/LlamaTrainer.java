package dev.evomerge.worker.train;

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
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.LlamaModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Trains a {@link LlamaModel} on token sequences: next-token cross-entropy through the runtime's
 * own forward pass under DJL autograd, AdamW on NDArrays, one {@link NDScope} per step so a step's
 * intermediates are freed when it ends.
 *
 * <p>Sequences are right-padded to the longest in the batch; padding positions carry no loss, and
 * the causal mask keeps real tokens from seeing them, so no attention mask is needed.
 */
public final class LlamaTrainer {
  /** Called after every step with the step (1-based), the steps in all and the batch's loss. */
  @FunctionalInterface
  public interface Progress {
    void step(int step, int steps, double loss);
  }

  /**
   * The trained weights, the loss of every step, and the logits {@code [T, V]} (flattened) of the
   * first training sequence as the trainer computes them with the trained weights: a checkpoint
   * written from {@code weights} must give the runtime the same.
   */
  public record Result(Map<String, FloatTensor> weights, double[] losses, float[] firstLogits) {
    public double firstLoss() {
      return losses[0];
    }

    /** Mean loss over the last {@code n} steps. */
    public double finalLoss(int n) {
      int k = Math.min(n, losses.length);
      double s = 0;
      for (int i = losses.length - k; i < losses.length; i++) {
        s += losses[i];
      }
      return s / k;
    }
  }

  private static final double BETA1 = 0.9;
  private static final double BETA2 = 0.98;
  private static final double EPS = 1e-8;
  private static final double CLIP = 1.0;

  private LlamaTrainer() {}

  /**
   * Initial weights as GPT-2/Llama initialise them: matrices N(0, 0.02), output projections scaled
   * by 1/sqrt(2 layers), norms one.
   */
  public static Map<String, FloatTensor> initialWeights(LlamaConfig config, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    double residual = 0.02 / Math.sqrt(2.0 * config.numLayers());
    for (LlamaConfig.TensorShape t : config.expectedTensors()) {
      float[] data = new float[(int) FloatTensor.numel(t.shape())];
      if (t.shape().length == 1) {
        java.util.Arrays.fill(data, 1f);
      } else {
        boolean output =
            t.name().endsWith("o_proj.weight") || t.name().endsWith("down_proj.weight");
        double std = output ? residual : 0.02;
        for (int i = 0; i < data.length; i++) {
          data[i] = (float) (std * gaussian(random));
        }
      }
      out.put(t.name(), new FloatTensor(t.shape(), data));
    }
    return out;
  }

  /**
   * Trains from {@code initial} on {@code sequences} (token ids, BOS first), drawing batches with
   * replacement from the seed.
   *
   * @param sequences at least two ids each; none longer than {@code maxLength}
   */
  public static Result train(
      LlamaConfig config,
      Map<String, FloatTensor> initial,
      List<long[]> sequences,
      TrainOptions options,
      Progress progress) {
    Preconditions.checkArgument(!sequences.isEmpty(), "No training sequences");
    for (int i = 0; i < sequences.size(); i++) {
      long[] s = sequences.get(i);
      Preconditions.checkArgument(
          s.length >= 2, "Training sequence %s has %s tokens, needs at least 2", i, s.length);
      for (long id : s) {
        Preconditions.checkArgument(
            id >= 0 && id < config.vocabSize(),
            "Training sequence %s has token id %s outside the vocabulary of %s",
            i,
            id,
            config.vocabSize());
      }
    }
    SplittableRandom order = new SplittableRandom(options.seed());
    double[] losses = new double[options.steps()];
    try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
      Map<String, NDArray> weights = new LinkedHashMap<>();
      Map<String, NDArray> m1 = new LinkedHashMap<>();
      Map<String, NDArray> m2 = new LinkedHashMap<>();
      for (LlamaConfig.TensorShape t : config.expectedTensors()) {
        FloatTensor init = initial.get(t.name());
        Preconditions.checkArgument(init != null, "Missing initial tensor %s", t.name());
        NDArray w = manager.create(init.data(), new Shape(init.shape()));
        w.setRequiresGradient(true);
        weights.put(t.name(), w);
        m1.put(t.name(), manager.zeros(w.getShape()));
        m2.put(t.name(), manager.zeros(w.getShape()));
      }
      LlamaModel model = new LlamaModel(config, weights);
      for (int step = 0; step < options.steps(); step++) {
        List<long[]> batch = new ArrayList<>(options.batchSize());
        for (int b = 0; b < options.batchSize(); b++) {
          batch.add(sequences.get(order.nextInt(sequences.size())));
        }
        try (NDScope scope = new NDScope()) {
          losses[step] = step(manager, model, weights, m1, m2, batch, options, step);
        }
        if (progress != null) {
          progress.step(step + 1, options.steps(), losses[step]);
        }
      }
      float[] firstLogits;
      try (NDScope scope = new NDScope()) {
        long[] first = sequences.get(0);
        firstLogits =
            model.logits(manager.create(first, new Shape(1, first.length))).toFloatArray();
      }
      Map<String, FloatTensor> out = new LinkedHashMap<>();
      weights.forEach(
          (name, w) -> out.put(name, new FloatTensor(w.getShape().getShape(), w.toFloatArray())));
      return new Result(out, losses, firstLogits);
    }
  }

  /**
   * Mean next-token cross-entropy of {@code model} on {@code sequences} (padding excluded), in nats
   * per token, without gradients.
   */
  public static double loss(LlamaModel model, NDManager manager, List<long[]> sequences) {
    try (NDScope scope = new NDScope()) {
      NDArray[] batch = batch(manager, sequences);
      return crossEntropy(model.logits(batch[0]), batch[1], batch[2]).getFloat();
    }
  }

  private static double step(
      NDManager manager,
      LlamaModel model,
      Map<String, NDArray> weights,
      Map<String, NDArray> m1,
      Map<String, NDArray> m2,
      List<long[]> sequences,
      TrainOptions options,
      int step) {
    NDArray[] batch = batch(manager, sequences);
    double loss;
    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
      NDArray l = crossEntropy(model.logits(batch[0]), batch[1], batch[2]);
      collector.backward(l);
      loss = l.getFloat();
    }
    Map<String, NDArray> grads = new LinkedHashMap<>();
    double norm2 = 0;
    for (Map.Entry<String, NDArray> e : weights.entrySet()) {
      NDArray g = e.getValue().getGradient();
      grads.put(e.getKey(), g);
      norm2 += g.square().sum().getFloat();
    }
    double norm = Math.sqrt(norm2);
    double clip = norm > CLIP ? CLIP / norm : 1.0;
    double lr = options.learningRateAt(step);
    double c1 = 1 - Math.pow(BETA1, step + 1);
    double c2 = 1 - Math.pow(BETA2, step + 1);
    for (Map.Entry<String, NDArray> e : weights.entrySet()) {
      String name = e.getKey();
      NDArray w = e.getValue();
      NDArray g = grads.get(name).mul((float) clip);
      NDArray a = m1.get(name);
      NDArray v = m2.get(name);
      a.muli((float) BETA1).addi(g.mul((float) (1 - BETA1)));
      v.muli((float) BETA2).addi(g.square().muli((float) (1 - BETA2)));
      NDArray update = a.div((float) c1).divi(v.div((float) c2).sqrt().addi((float) EPS));
      if (w.getShape().dimension() > 1 && options.weightDecay() > 0) {
        update.addi(w.mul((float) options.weightDecay()));
      }
      w.subi(update.muli((float) lr));
      // gradients accumulate across backward passes: clear them for the next step
      grads.get(name).subi(grads.get(name));
    }
    return loss;
  }

  /** Inputs {@code [B, T]}, targets {@code [B, T]} and a loss mask {@code [B, T]}. */
  private static NDArray[] batch(NDManager manager, List<long[]> sequences) {
    int t = 0;
    for (long[] s : sequences) {
      t = Math.max(t, s.length - 1);
    }
    int b = sequences.size();
    long[] inputs = new long[b * t];
    long[] targets = new long[b * t];
    float[] mask = new float[b * t];
    for (int r = 0; r < b; r++) {
      long[] s = sequences.get(r);
      for (int i = 0; i + 1 < s.length; i++) {
        inputs[r * t + i] = s[i];
        targets[r * t + i] = s[i + 1];
        mask[r * t + i] = 1f;
      }
    }
    Shape shape = new Shape(b, t);
    return new NDArray[] {
      manager.create(inputs, shape), manager.create(targets, shape), manager.create(mask, shape)
    };
  }

  private static NDArray crossEntropy(NDArray logits, NDArray targets, NDArray mask) {
    NDArray logp = logits.logSoftmax(-1);
    NDArray picked =
        logp.gather(targets.toType(DataType.INT64, false).expandDims(-1), -1).squeeze(-1);
    return picked.mul(mask).sum().neg().div(mask.sum());
  }

  private static double gaussian(SplittableRandom random) {
    double u1 = 1.0 - random.nextDouble();
    double u2 = random.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
