package dev.evomerge.worker.model;

import dev.evomerge.worker.io.FloatTensor;
import java.util.Map;

/**
 * A deliberately plain re-implementation of the Hugging Face Llama/Mistral/Qwen2 forward pass in
 * double-precision loops, one sequence at a time, written from the HF definitions and independent
 * of {@link LlamaModel} (no DJL, no shared helpers), so the two can check each other.
 */
final class ReferenceLlama {
  private final LlamaConfig c;
  private final Map<String, FloatTensor> w;

  ReferenceLlama(LlamaConfig config, Map<String, FloatTensor> weights) {
    this.c = config;
    this.w = weights;
  }

  /** Logits {@code [T][V]} of one unpadded sequence. */
  double[][] logits(long[] ids) {
    int t = ids.length;
    int hid = c.hiddenSize();
    double[][] x = new double[t][hid];
    float[] emb = w.get("model.embed_tokens.weight").data();
    for (int i = 0; i < t; i++) {
      for (int j = 0; j < hid; j++) {
        x[i][j] = emb[(int) ids[i] * hid + j];
      }
    }
    for (int layer = 0; layer < c.numLayers(); layer++) {
      String p = "model.layers." + layer + ".";
      double[][] h = norm(x, p + "input_layernorm.weight");
      double[][] a = attention(h, p);
      add(x, a);
      h = norm(x, p + "post_attention_layernorm.weight");
      double[][] gate = lin(h, p + "mlp.gate_proj.weight", null);
      double[][] up = lin(h, p + "mlp.up_proj.weight", null);
      for (int i = 0; i < t; i++) {
        for (int j = 0; j < gate[i].length; j++) {
          double g = gate[i][j];
          gate[i][j] = g / (1 + Math.exp(-g)) * up[i][j];
        }
      }
      add(x, lin(gate, p + "mlp.down_proj.weight", null));
    }
    double[][] h = norm(x, "model.norm.weight");
    return lin(h, c.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight", null);
  }

  private double[][] attention(double[][] h, String p) {
    int t = h.length;
    int d = c.headDim();
    boolean bias = c.qkvBias();
    double[][] q = lin(h, p + "self_attn.q_proj.weight", bias ? p + "self_attn.q_proj.bias" : null);
    double[][] k = lin(h, p + "self_attn.k_proj.weight", bias ? p + "self_attn.k_proj.bias" : null);
    double[][] v = lin(h, p + "self_attn.v_proj.weight", bias ? p + "self_attn.v_proj.bias" : null);
    double[] inv = invFreq();
    for (int i = 0; i < t; i++) {
      rotate(q[i], c.numHeads(), d, i, inv);
      rotate(k[i], c.numKvHeads(), d, i, inv);
    }
    int perKv = c.numHeads() / c.numKvHeads();
    double[][] out = new double[t][c.numHeads() * d];
    for (int head = 0; head < c.numHeads(); head++) {
      int kvHead = head / perKv;
      for (int i = 0; i < t; i++) {
        // Mistral's sliding window: key j is seen when j > i - window (HF masking_utils)
        int first = c.slidingWindow() > 0 ? Math.max(0, i - c.slidingWindow() + 1) : 0;
        double[] s = new double[i + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = first; j <= i; j++) {
          double dot = 0;
          for (int e = 0; e < d; e++) {
            dot += q[i][head * d + e] * k[j][kvHead * d + e];
          }
          s[j] = dot / Math.sqrt(d);
          max = Math.max(max, s[j]);
        }
        double z = 0;
        for (int j = first; j <= i; j++) {
          s[j] = Math.exp(s[j] - max);
          z += s[j];
        }
        for (int j = first; j <= i; j++) {
          for (int e = 0; e < d; e++) {
            out[i][head * d + e] += s[j] / z * v[j][kvHead * d + e];
          }
        }
      }
    }
    return lin(
        out, p + "self_attn.o_proj.weight", c.outputBias() ? p + "self_attn.o_proj.bias" : null);
  }

  /** Inverse frequencies from the HF rope utils formulas, in double. */
  private double[] invFreq() {
    int d = c.headDim();
    double[] inv = new double[d / 2];
    for (int i = 0; i < d / 2; i++) {
      inv[i] = Math.pow(c.ropeTheta(), -(2.0 * i) / d);
    }
    RopeScaling s = c.ropeScaling();
    if (s == null) {
      return inv;
    }
    for (int i = 0; i < inv.length; i++) {
      if (s.type().equals("linear")) {
        inv[i] /= s.factor();
      } else {
        double wavelen = 2 * Math.PI / inv[i];
        double lowWavelen = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
        double highWavelen = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
        double scaled = wavelen > lowWavelen ? inv[i] / s.factor() : inv[i];
        boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
        if (medium) {
          double smooth =
              (s.originalMaxPositionEmbeddings() / wavelen - s.lowFreqFactor())
                  / (s.highFreqFactor() - s.lowFreqFactor());
          scaled = (1 - smooth) * scaled / s.factor() + smooth * scaled;
        }
        inv[i] = scaled;
      }
    }
    return inv;
  }

  /** Rotate-half RoPE on each head of one position's vector. */
  private static void rotate(double[] vec, int heads, int d, int pos, double[] inv) {
    for (int head = 0; head < heads; head++) {
      int o = head * d;
      for (int i = 0; i < d / 2; i++) {
        double cos = Math.cos(pos * inv[i]);
        double sin = Math.sin(pos * inv[i]);
        double x1 = vec[o + i];
        double x2 = vec[o + i + d / 2];
        vec[o + i] = x1 * cos - x2 * sin;
        vec[o + i + d / 2] = x2 * cos + x1 * sin;
      }
    }
  }

  private double[][] norm(double[][] x, String name) {
    float[] g = w.get(name).data();
    double[][] out = new double[x.length][];
    for (int i = 0; i < x.length; i++) {
      double ms = 0;
      for (double v : x[i]) {
        ms += v * v;
      }
      ms /= x[i].length;
      double scale = 1 / Math.sqrt(ms + c.rmsNormEps());
      out[i] = new double[x[i].length];
      for (int j = 0; j < x[i].length; j++) {
        out[i][j] = x[i][j] * scale * g[j];
      }
    }
    return out;
  }

  private double[][] lin(double[][] x, String weight, String bias) {
    FloatTensor wt = w.get(weight);
    int outDim = (int) wt.shape()[0];
    int inDim = (int) wt.shape()[1];
    float[] b = bias == null ? null : w.get(bias).data();
    double[][] y = new double[x.length][outDim];
    for (int i = 0; i < x.length; i++) {
      for (int o = 0; o < outDim; o++) {
        double s = b == null ? 0 : b[o];
        for (int e = 0; e < inDim; e++) {
          s += x[i][e] * wt.data()[o * inDim + e];
        }
        y[i][o] = s;
      }
    }
    return y;
  }

  private static void add(double[][] x, double[][] y) {
    for (int i = 0; i < x.length; i++) {
      for (int j = 0; j < x[i].length; j++) {
        x[i][j] += y[i][j];
      }
    }
  }
}
