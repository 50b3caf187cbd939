package dev.evomerge.worker.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import java.util.Arrays;
import java.util.Map;

/**
 * A Llama-family decoder evaluated with DJL NDArrays, numerically as in the Hugging Face
 * definition: RMSNorm and softmax in F32, rotate-half RoPE, grouped-query attention, SwiGLU.
 *
 * <p>The model does not own its weights: the caller keeps them alive (for example inside an {@code
 * NDScope} for one merged candidate), so a new candidate swaps weights without rebuilding anything.
 * Sequences are right-padded, so positions are 0..T-1 for every row and the causal mask alone keeps
 * real tokens from seeing padding.
 */
public final class LlamaModel {
  private final LlamaConfig config;
  private final Map<String, NDArray> weights;

  /** Checks that {@code weights} has every tensor {@code config} needs, with the right shape. */
  public LlamaModel(LlamaConfig config, Map<String, NDArray> weights) {
    for (LlamaConfig.TensorShape t : config.expectedTensors()) {
      NDArray w = weights.get(t.name());
      if (w == null) {
        throw new ModelConfigException("Missing tensor " + t.name());
      }
      if (!Arrays.equals(w.getShape().getShape(), t.shape())) {
        throw new ModelConfigException(
            String.format(
                "Tensor %s has shape %s, expected %s",
                t.name(), w.getShape(), Arrays.toString(t.shape())));
      }
    }
    this.config = config;
    this.weights = weights;
  }

  public LlamaConfig config() {
    return config;
  }

  /**
   * Next-token log-probabilities.
   *
   * @param inputIds int64 {@code [B, T]}
   * @return F32 {@code [B, T, V]}: entry {@code [b, t, v]} is log p(token t+1 = v | tokens 0..t)
   */
  public NDArray logProbs(NDArray inputIds) {
    return logits(inputIds).logSoftmax(-1);
  }

  /** Unnormalised next-token scores, F32 {@code [B, T, V]}. */
  public NDArray logits(NDArray inputIds) {
    NDManager m = inputIds.getManager();
    long seq = inputIds.getShape().get(1);
    NDArray x = w("model.embed_tokens.weight").get(inputIds.toType(DataType.INT64, false));
    NDArray[] rope = ropeTables(m, (int) seq);
    NDArray mask = causalMask(m, (int) seq);
    for (int i = 0; i < config.numLayers(); i++) {
      String p = "model.layers." + i + ".";
      NDArray h = rmsNorm(x, w(p + "input_layernorm.weight"));
      x = x.add(attention(h, p, rope, mask));
      h = rmsNorm(x, w(p + "post_attention_layernorm.weight"));
      x = x.add(mlp(h, p));
    }
    x = rmsNorm(x, w("model.norm.weight"));
    NDArray head =
        config.tieWordEmbeddings() ? w("model.embed_tokens.weight") : w("lm_head.weight");
    return linear(x, head);
  }

  private NDArray w(String name) {
    return weights.get(name);
  }

  /** {@code x W^T}, as {@code torch.nn.Linear} with weight {@code [out, in]}. */
  private static NDArray linear(NDArray x, NDArray weight) {
    return x.matMul(weight.transpose());
  }

  private NDArray rmsNorm(NDArray x, NDArray weight) {
    NDArray variance = x.square().mean(new int[] {-1}, true);
    return x.div(variance.add(config.rmsNormEps()).sqrt()).mul(weight);
  }

  private NDArray mlp(NDArray h, String p) {
    NDArray gate = linear(h, w(p + "mlp.gate_proj.weight"));
    NDArray silu = gate.mul(Activation.sigmoid(gate));
    NDArray up = linear(h, w(p + "mlp.up_proj.weight"));
    return linear(silu.mul(up), w(p + "mlp.down_proj.weight"));
  }

  private NDArray attention(NDArray h, String p, NDArray[] rope, NDArray mask) {
    long b = h.getShape().get(0);
    long t = h.getShape().get(1);
    int heads = config.numHeads();
    int kvHeads = config.numKvHeads();
    int d = config.headDim();
    NDArray q = heads(linear(h, w(p + "self_attn.q_proj.weight")), b, t, heads, d);
    NDArray k = heads(linear(h, w(p + "self_attn.k_proj.weight")), b, t, kvHeads, d);
    NDArray v = heads(linear(h, w(p + "self_attn.v_proj.weight")), b, t, kvHeads, d);
    q = applyRope(q, rope);
    k = applyRope(k, rope);
    int groups = heads / kvHeads;
    if (groups > 1) {
      // each KV head serves `groups` consecutive query heads (repeat_interleave on the head axis)
      k = k.expandDims(2).broadcast(new Shape(b, kvHeads, groups, t, d)).reshape(b, heads, t, d);
      v = v.expandDims(2).broadcast(new Shape(b, kvHeads, groups, t, d)).reshape(b, heads, t, d);
    }
    NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).div(Math.sqrt(d)).add(mask);
    NDArray probs = scores.softmax(-1);
    NDArray out = probs.matMul(v).transpose(0, 2, 1, 3).reshape(b, t, (long) heads * d);
    return linear(out, w(p + "self_attn.o_proj.weight"));
  }

  /** {@code [B, T, H*D]} to {@code [B, H, T, D]}. */
  private static NDArray heads(NDArray x, long b, long t, int heads, int d) {
    return x.reshape(b, t, heads, d).transpose(0, 2, 1, 3);
  }

  private static NDArray applyRope(NDArray x, NDArray[] rope) {
    long half = x.getShape().get(3) / 2;
    NDArray x1 = x.get(":, :, :, :" + half);
    NDArray x2 = x.get(":, :, :, " + half + ":");
    NDArray rotated = x2.neg().concat(x1, 3);
    return x.mul(rope[0]).add(rotated.mul(rope[1]));
  }

  /** cos and sin tables {@code [T, D]} in the rotate-half layout (frequencies repeated twice). */
  private NDArray[] ropeTables(NDManager m, int seq) {
    int d = config.headDim();
    float[] cos = new float[seq * d];
    float[] sin = new float[seq * d];
    for (int pos = 0; pos < seq; pos++) {
      for (int i = 0; i < d / 2; i++) {
        // as HF: inv_freq is computed in float32, then multiplied by the position
        float invFreq = (float) (1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / d));
        float angle = pos * invFreq;
        float c = (float) Math.cos(angle);
        float s = (float) Math.sin(angle);
        cos[pos * d + i] = c;
        cos[pos * d + i + d / 2] = c;
        sin[pos * d + i] = s;
        sin[pos * d + i + d / 2] = s;
      }
    }
    return new NDArray[] {m.create(cos, new Shape(seq, d)), m.create(sin, new Shape(seq, d))};
  }

  private static NDArray causalMask(NDManager m, int seq) {
    float[] mask = new float[seq * seq];
    for (int i = 0; i < seq; i++) {
      for (int j = i + 1; j < seq; j++) {
        mask[i * seq + j] = Float.NEGATIVE_INFINITY;
      }
    }
    return m.create(mask, new Shape(seq, seq));
  }
}
