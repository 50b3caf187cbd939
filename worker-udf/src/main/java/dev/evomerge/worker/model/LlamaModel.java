package dev.evomerge.worker.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import java.util.Arrays;
import java.util.Map;

/**
 * A Llama-family decoder (Llama, Mistral, Qwen2) evaluated with DJL NDArrays, numerically as in the
 * Hugging Face definitions: RMSNorm and softmax in F32, rotate-half RoPE (optionally scaled),
 * grouped-query attention, Mistral's sliding window, optional q/k/v and output biases, SwiGLU, tied
 * or separate LM head.
 *
 * <p>The model does not own its weights: the caller keeps them alive (for example inside an {@code
 * NDScope} for one merged candidate), so a new candidate swaps weights without rebuilding anything.
 * Results are created under the caller's NDScope; call it inside one.
 *
 * <p>Padding: without a mask, rows are taken as right-padded (positions 0..T-1, the causal mask
 * keeps real tokens from seeing later padding). With an attention mask (1 real, 0 padding, left or
 * right), each row's positions count only its real tokens, as HF derives position ids from the
 * mask, and padding keys are masked out.
 *
 * <p>Not thread-safe (it caches RoPE tables); build one per thread, it is cheap.
 */
public final class LlamaModel implements LanguageModel {
  /** Additive mask value; finite so rows that see only padding stay finite instead of NaN. */
  private static final float MASKED = -1e9f;

  private final LlamaConfig config;
  private final Map<String, NDArray> weights;
  private final float[] invFreq;
  private LinearInputObserver observer;
  private float[] cosTable = new float[0];
  private float[] sinTable = new float[0];

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
      if (w.getDataType() != DataType.FLOAT32) {
        throw new ModelConfigException(
            String.format("Tensor %s is %s, expected float32", t.name(), w.getDataType()));
      }
    }
    this.config = config;
    this.weights = weights;
    this.invFreq = config.invFreq();
  }

  public LlamaConfig config() {
    return config;
  }

  /**
   * Sees the input {@code x} ({@code [..., in]}) of every linear layer of a forward pass, keyed by
   * the layer's weight name (a tied LM head by {@code model.embed_tokens.weight}), as it enters the
   * layer: inside a gradient collector it is part of the graph, so an observer that keeps it should
   * detach it.
   */
  @FunctionalInterface
  public interface LinearInputObserver {
    void input(String weight, NDArray x);
  }

  /** Sets the observer of linear-layer inputs; null (the default) observes nothing, at no cost. */
  public void observeLinearInputs(LinearInputObserver observer) {
    this.observer = observer;
  }

  /** An empty KV cache for {@code batch} rows. */
  @Override
  public KvCache newCache(int batch) {
    return new KvCache(config.numLayers(), batch);
  }

  /**
   * As {@link #logProbs(NDArray)} for positions {@code from..T-1} only, {@code [B, T-from, V]}: the
   * LM head and log-softmax, which dominate small models with large vocabularies, skip the
   * positions whose predictions are not scored (a multiple-choice context).
   */
  @Override
  public NDArray logProbs(NDArray inputIds, int from) {
    long t = inputIds.getShape().get(1);
    if (from < 0 || from >= t) {
      throw new IllegalArgumentException(
          String.format("Invalid first position %d for %d positions", from, t));
    }
    NDArray h = hidden(inputIds, null, null);
    return lmHead(from == 0 ? h : h.get(":, " + from + ":, :")).logSoftmax(-1);
  }

  /** Unnormalised next-token scores, F32 {@code [B, T, V]}, rows right-padded or unpadded. */
  @Override
  public NDArray logits(NDArray inputIds) {
    return lmHead(hidden(inputIds, null, null));
  }

  @Override
  public NDArray logits(NDArray inputIds, NDArray attentionMask) {
    return lmHead(hidden(inputIds, maskRows(attentionMask), null));
  }

  @Override
  public NDArray nextTokenLogits(NDArray inputIds, NDArray attentionMask, KvCache cache) {
    NDArray h = hidden(inputIds, attentionMask == null ? null : maskRows(attentionMask), cache);
    long t = h.getShape().get(1);
    return lmHead(h.get(":, " + (t - 1) + ", :"));
  }

  /** The LM head: hidden states to logits. */
  NDArray lmHead(NDArray x) {
    return linear(
        x, config.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight", null);
  }

  static float[][] maskRows(NDArray mask) {
    int b = (int) mask.getShape().get(0);
    int t = (int) mask.getShape().get(1);
    float[] flat = mask.toType(DataType.FLOAT32, false).toFloatArray();
    float[][] out = new float[b][];
    for (int i = 0; i < b; i++) {
      out[i] = Arrays.copyOfRange(flat, i * t, (i + 1) * t);
    }
    return out;
  }

  /** Final-norm hidden states {@code [B, T, H]}. */
  private NDArray hidden(NDArray inputIds, float[][] mask, KvCache cache) {
    if (cache != null) {
      cache.checkSlots(config.numLayers());
    }
    Pass pass = begin(inputIds, mask, cache);
    NDArray x = embed(inputIds);
    for (int i = 0; i < config.numLayers(); i++) {
      x = layer(x, i, i, pass);
    }
    return finalNorm(x);
  }

  /**
   * What every decoder layer of one forward pass shares: the RoPE tables of the tokens' positions,
   * the additive attention mask, and the KV cache (null without one).
   */
  record Pass(NDArray[] rope, NDArray mask, KvCache cache) {}

  /**
   * Positions and mask of a forward pass over {@code inputIds} after what {@code cache} holds (its
   * padding mask is extended by the new tokens').
   *
   * @param mask {@code [B][T]} 1 real, 0 padding, or null for all real
   */
  Pass begin(NDArray inputIds, float[][] mask, KvCache cache) {
    NDManager m = inputIds.getManager();
    int b = (int) inputIds.getShape().get(0);
    int t = (int) inputIds.getShape().get(1);
    int past = cache == null ? 0 : cache.length;
    if (cache != null && cache.batch != b) {
      throw new IllegalArgumentException(
          String.format("KV cache holds %d rows, input has %d", cache.batch, b));
    }
    if (mask == null) {
      mask = new float[b][t];
      for (float[] row : mask) {
        Arrays.fill(row, 1f);
      }
    }
    int[][] positions = new int[b][t];
    for (int r = 0; r < b; r++) {
      int seen = cache == null ? 0 : cache.realTokens[r];
      for (int i = 0; i < t; i++) {
        positions[r][i] = seen;
        if (mask[r][i] > 0) {
          seen++;
          positions[r][i] = seen - 1;
        }
      }
    }
    float[][] keyMask;
    if (cache != null) {
      cache.append(mask, t);
      keyMask = cache.keyMask;
    } else {
      keyMask = mask;
    }
    int keys = past + t;
    return new Pass(
        ropeTables(m, positions),
        additiveMask(m, keyMask, b, t, past, keys, config.slidingWindow()),
        cache);
  }

  /** Token embeddings {@code [B, T, H]}. */
  NDArray embed(NDArray inputIds) {
    return w("model.embed_tokens.weight").get(inputIds.toType(DataType.INT64, false));
  }

  /**
   * Decoder layer {@code layer} of this model applied to {@code x}, keeping its keys and values in
   * cache slot {@code slot} (a layer path puts one layer in several slots).
   */
  NDArray layer(NDArray x, int layer, int slot, Pass pass) {
    String p = "model.layers." + layer + ".";
    NDArray h = rmsNorm(x, w(p + "input_layernorm.weight"));
    x = x.add(attention(h, slot, p, pass.rope(), pass.mask(), pass.cache()));
    h = rmsNorm(x, w(p + "post_attention_layernorm.weight"));
    return x.add(mlp(h, p));
  }

  /** The final RMSNorm. */
  NDArray finalNorm(NDArray x) {
    return rmsNorm(x, w("model.norm.weight"));
  }

  private NDArray w(String name) {
    return weights.get(name);
  }

  /** {@code x W^T (+ b)}, as {@code torch.nn.Linear} with weight {@code [out, in]}. */
  private NDArray linear(NDArray x, String weight, NDArray bias) {
    if (observer != null) {
      observer.input(weight, x);
    }
    NDArray y = x.matMul(w(weight).transpose());
    return bias == null ? y : y.add(bias);
  }

  private NDArray rmsNorm(NDArray x, NDArray weight) {
    NDArray variance = x.square().mean(new int[] {-1}, true);
    return x.div(variance.add(config.rmsNormEps()).sqrt()).mul(weight);
  }

  private NDArray mlp(NDArray h, String p) {
    NDArray gate = linear(h, p + "mlp.gate_proj.weight", null);
    NDArray silu = gate.mul(Activation.sigmoid(gate));
    NDArray up = linear(h, p + "mlp.up_proj.weight", null);
    return linear(silu.mul(up), p + "mlp.down_proj.weight", null);
  }

  private NDArray attention(
      NDArray h, int slot, String p, NDArray[] rope, NDArray mask, KvCache cache) {
    long b = h.getShape().get(0);
    long t = h.getShape().get(1);
    int heads = config.numHeads();
    int kvHeads = config.numKvHeads();
    int groups = heads / kvHeads;
    int d = config.headDim();
    boolean bias = config.qkvBias();
    NDArray q =
        linear(h, p + "self_attn.q_proj.weight", bias ? w(p + "self_attn.q_proj.bias") : null);
    NDArray k =
        linear(h, p + "self_attn.k_proj.weight", bias ? w(p + "self_attn.k_proj.bias") : null);
    NDArray v =
        linear(h, p + "self_attn.v_proj.weight", bias ? w(p + "self_attn.v_proj.bias") : null);
    q = applyRope(heads(q, b, t, heads, d), rope);
    k = applyRope(heads(k, b, t, kvHeads, d), rope);
    v = heads(v, b, t, kvHeads, d);
    if (cache != null) {
      if (cache.keys[slot] != null) {
        k = cache.keys[slot].concat(k, 2);
        v = cache.values[slot].concat(v, 2);
      }
      cache.replace(slot, k, v);
    }
    long keys = k.getShape().get(2);
    // HF repeat_kv: KV head j serves query heads j*g .. j*g+g-1. Folding those g heads into the
    // query axis shares K/V without copying them.
    NDArray qg = q.reshape(b, kvHeads, groups * t, d);
    NDArray scores =
        qg.matMul(k.transpose(0, 1, 3, 2))
            .mul(scalar(h.getManager(), (float) (1.0 / Math.sqrt(d))))
            .reshape(b, kvHeads, groups, t, keys)
            .add(mask);
    NDArray probs = scores.softmax(-1).reshape(b, kvHeads, groups * t, keys);
    NDArray out =
        probs
            .matMul(v)
            .reshape(b, heads, t, d)
            .transpose(0, 2, 1, 3)
            .reshape(b, t, (long) heads * d);
    return linear(
        out,
        p + "self_attn.o_proj.weight",
        config.outputBias() ? w(p + "self_attn.o_proj.bias") : null);
  }

  /** {@code [B, T, H*D]} to {@code [B, H, T, D]}. */
  /**
   * A scalar tensor whose memory PyTorch owns. DJL's {@code mul(Number)} wraps the number in a
   * tensor over a direct {@code ByteBuffer} ({@code from_blob}) and closes it right after the op;
   * under autograd the product keeps that tensor for its backward pass, which then reads the buffer
   * after the JVM may have freed it: the attention-score scale became garbage about once in a few
   * hundred training steps (whenever the collector ran between forward and backward), and two
   * trainings with one seed diverged. A copy made by PyTorch lives as long as any tensor that keeps
   * it.
   */
  static NDArray scalar(NDManager manager, float value) {
    try (NDArray wrapped = manager.create(value)) {
      return wrapped.duplicate();
    }
  }

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

  /**
   * cos and sin tables in the rotate-half layout (frequencies repeated twice): {@code [T, D]} when
   * every row has the same positions, else {@code [B, 1, T, D]}.
   */
  private NDArray[] ropeTables(NDManager m, int[][] positions) {
    int d = config.headDim();
    int b = positions.length;
    int t = positions[0].length;
    int maxPos = 0;
    boolean same = true;
    for (int[] row : positions) {
      same &= Arrays.equals(row, positions[0]);
      for (int p : row) {
        maxPos = Math.max(maxPos, p);
      }
    }
    growTables(maxPos + 1);
    int rows = same ? 1 : b;
    float[] cos = new float[rows * t * d];
    float[] sin = new float[rows * t * d];
    for (int r = 0; r < rows; r++) {
      for (int i = 0; i < t; i++) {
        int pos = positions[r][i];
        System.arraycopy(cosTable, pos * d, cos, (r * t + i) * d, d);
        System.arraycopy(sinTable, pos * d, sin, (r * t + i) * d, d);
      }
    }
    Shape shape = same ? new Shape(t, d) : new Shape(b, 1, t, d);
    return new NDArray[] {m.create(cos, shape), m.create(sin, shape)};
  }

  private void growTables(int positions) {
    int d = config.headDim();
    int have = cosTable.length / d;
    if (positions <= have) {
      return;
    }
    int n = Math.max(positions, Math.max(64, 2 * have));
    float[] cos = Arrays.copyOf(cosTable, n * d);
    float[] sin = Arrays.copyOf(sinTable, n * d);
    for (int pos = have; pos < n; pos++) {
      for (int i = 0; i < d / 2; i++) {
        // as HF: float32 inv_freq times float32 position, cos/sin of the float32 angle
        float angle = pos * invFreq[i];
        float c = (float) Math.cos(angle);
        float s = (float) Math.sin(angle);
        cos[pos * d + i] = c;
        cos[pos * d + i + d / 2] = c;
        sin[pos * d + i] = s;
        sin[pos * d + i + d / 2] = s;
      }
    }
    cosTable = cos;
    sinTable = sin;
  }

  /**
   * Additive attention mask: causal over cache index (query t sits at index past+t), plus padding
   * keys, plus (with a sliding window W &gt; 0, as HF's Mistral) keys W or more indices back, so a
   * query sees itself and the W-1 keys before it. {@code [T, S]} without padding, else {@code [B,
   * 1, 1, T, S]}, to broadcast against the grouped scores {@code [B, kvHeads, groups, T, S]}.
   */
  static NDArray additiveMask(
      NDManager m, float[][] keyMask, int b, int t, int past, int keys, int window) {
    boolean padded = false;
    for (float[] row : keyMask) {
      for (int j = 0; j < keys; j++) {
        padded |= row[j] <= 0;
      }
    }
    int rows = padded ? b : 1;
    float[] mask = new float[rows * t * keys];
    for (int r = 0; r < rows; r++) {
      for (int i = 0; i < t; i++) {
        int base = (r * t + i) * keys;
        for (int j = 0; j < keys; j++) {
          int query = past + i;
          if (j > query || (window > 0 && j <= query - window) || (padded && keyMask[r][j] <= 0)) {
            mask[base + j] = MASKED;
          }
        }
      }
    }
    Shape shape = padded ? new Shape(b, 1, 1, t, keys) : new Shape(t, keys);
    return m.create(mask, shape);
  }
}
