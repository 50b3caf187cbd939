package dev.evomerge.worker.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The fields of a Llama-family {@code config.json} (Llama, Mistral, Qwen2) that change the math.
 *
 * <p>Fields this runtime does not implement (other RoPE scalings, MLP biases, other activations,
 * Qwen2's per-layer sliding windows, partial rotary) are refused rather than silently approximated.
 *
 * @param ropeScaling null when RoPE is unscaled
 * @param qkvBias q/k/v projections have biases (Qwen2; Llama with {@code attention_bias})
 * @param outputBias the attention output projection has a bias (Llama with {@code attention_bias})
 * @param slidingWindow Mistral's attention window (a query sees itself and the {@code slidingWindow
 *     - 1} tokens before it), 0 for none
 */
public record LlamaConfig(
    String architecture,
    int vocabSize,
    int hiddenSize,
    int intermediateSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int headDim,
    double rmsNormEps,
    double ropeTheta,
    boolean tieWordEmbeddings,
    int bosTokenId,
    int eosTokenId,
    RopeScaling ropeScaling,
    boolean qkvBias,
    boolean outputBias,
    int slidingWindow)
    implements Serializable {

  static final Set<String> SUPPORTED =
      Set.of("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM");

  /** A plain Llama config: no RoPE scaling, no biases, no sliding window. */
  public LlamaConfig(
      String architecture,
      int vocabSize,
      int hiddenSize,
      int intermediateSize,
      int numLayers,
      int numHeads,
      int numKvHeads,
      int headDim,
      double rmsNormEps,
      double ropeTheta,
      boolean tieWordEmbeddings,
      int bosTokenId,
      int eosTokenId) {
    this(
        architecture,
        vocabSize,
        hiddenSize,
        intermediateSize,
        numLayers,
        numHeads,
        numKvHeads,
        headDim,
        rmsNormEps,
        ropeTheta,
        tieWordEmbeddings,
        bosTokenId,
        eosTokenId,
        null,
        false,
        false,
        0);
  }

  /** This config with another RoPE scaling. */
  public LlamaConfig withRopeScaling(RopeScaling scaling) {
    return new LlamaConfig(
        architecture,
        vocabSize,
        hiddenSize,
        intermediateSize,
        numLayers,
        numHeads,
        numKvHeads,
        headDim,
        rmsNormEps,
        ropeTheta,
        tieWordEmbeddings,
        bosTokenId,
        eosTokenId,
        scaling,
        qkvBias,
        outputBias,
        slidingWindow);
  }

  /** This config with other attention biases (Qwen2: q/k/v only). */
  public LlamaConfig withBiases(boolean qkv, boolean output) {
    return new LlamaConfig(
        architecture,
        vocabSize,
        hiddenSize,
        intermediateSize,
        numLayers,
        numHeads,
        numKvHeads,
        headDim,
        rmsNormEps,
        ropeTheta,
        tieWordEmbeddings,
        bosTokenId,
        eosTokenId,
        ropeScaling,
        qkv,
        output,
        slidingWindow);
  }

  /** This config with another architecture name, tying and sliding window. */
  public LlamaConfig withArchitecture(String arch, boolean tied, int window) {
    return new LlamaConfig(
        arch,
        vocabSize,
        hiddenSize,
        intermediateSize,
        numLayers,
        numHeads,
        numKvHeads,
        headDim,
        rmsNormEps,
        ropeTheta,
        tied,
        bosTokenId,
        eosTokenId,
        ropeScaling,
        qkvBias,
        outputBias,
        window);
  }

  public LlamaConfig {
    if (numHeads <= 0 || numKvHeads <= 0 || numHeads % numKvHeads != 0) {
      throw new ModelConfigException(
          String.format(
              "Invalid head counts: num_attention_heads %d, num_key_value_heads %d",
              numHeads, numKvHeads));
    }
    if (headDim % 2 != 0) {
      throw new ModelConfigException("Invalid head_dim (must be even for RoPE): " + headDim);
    }
    if (!SUPPORTED.contains(architecture)) {
      throw new ModelConfigException(
          String.format("Unsupported architecture %s (supported: %s)", architecture, SUPPORTED));
    }
    if (slidingWindow < 0) {
      throw new ModelConfigException("Invalid sliding_window: " + slidingWindow);
    }
  }

  /** RoPE inverse frequencies ({@code headDim / 2} of them) in float32, scaled as configured. */
  public float[] invFreq() {
    float[] out = new float[headDim / 2];
    for (int i = 0; i < out.length; i++) {
      // as HF: base ** (arange(0, dim, 2).float() / dim), in float32
      out[i] = (float) (1.0 / Math.pow(ropeTheta, (float) (2 * i) / headDim));
    }
    if (ropeScaling != null) {
      ropeScaling.scale(out);
    }
    return out;
  }

  /** Parses {@code config.json}; {@code where} names the file in error messages. */
  public static LlamaConfig parse(ObjectNode json, String where) {
    String arch = architecture(json, where);
    if (!SUPPORTED.contains(arch)) {
      throw new ModelConfigException(
          String.format(
              "Unsupported architecture %s in %s (supported: %s)", arch, where, SUPPORTED));
    }
    requireFalse(json, "mlp_bias", where);
    String act = json.path("hidden_act").asText("silu");
    if (!"silu".equals(act)) {
      throw new ModelConfigException(
          String.format("Unsupported hidden_act %s in %s (only silu)", act, where));
    }
    if (json.hasNonNull("partial_rotary_factor")
        && json.get("partial_rotary_factor").asDouble() != 1.0) {
      throw new ModelConfigException(
          String.format(
              "Unsupported partial_rotary_factor %s in %s",
              json.get("partial_rotary_factor"), where));
    }
    // transformers 5 lists each layer's attention; windowed layers are Mistral's (all of them)
    JsonNode layerTypes = json.get("layer_types");
    if (layerTypes != null && layerTypes.isArray()) {
      String expected = "full_attention";
      if (arch.equals("MistralForCausalLM") && json.hasNonNull("sliding_window")) {
        expected = "sliding_attention";
      }
      for (JsonNode type : layerTypes) {
        if (!type.asText().equals(expected)) {
          throw new ModelConfigException(
              String.format(
                  "Unsupported layer_types %s in %s (every layer must be %s)",
                  layerTypes, where, expected));
        }
      }
    }
    boolean qkvBias;
    boolean outputBias;
    int window = 0;
    switch (arch) {
      case "Qwen2ForCausalLM" -> {
        qkvBias = true;
        outputBias = false;
        if (json.path("use_sliding_window").asBoolean(false)) {
          throw new ModelConfigException(
              String.format("Unsupported use_sliding_window=true in %s", where));
        }
      }
      case "MistralForCausalLM" -> {
        requireFalse(json, "attention_bias", where);
        qkvBias = false;
        outputBias = false;
        window = json.hasNonNull("sliding_window") ? requiredInt(json, "sliding_window", where) : 0;
      }
      default -> {
        qkvBias = json.path("attention_bias").asBoolean(false);
        outputBias = qkvBias;
      }
    }
    double theta = json.path("rope_theta").asDouble(10000.0);
    RopeScaling scaling = RopeScaling.parse(json.get("rope_scaling"), where);
    // transformers 5 moves both into rope_parameters
    JsonNode params = json.get("rope_parameters");
    if (params != null && params.isObject()) {
      theta = params.path("rope_theta").asDouble(theta);
      scaling = RopeScaling.parse(params, where);
    }
    int hidden = requiredInt(json, "hidden_size", where);
    int heads = requiredInt(json, "num_attention_heads", where);
    int kvHeads =
        json.hasNonNull("num_key_value_heads")
            ? requiredInt(json, "num_key_value_heads", where)
            : heads;
    int headDim =
        json.hasNonNull("head_dim") ? requiredInt(json, "head_dim", where) : hidden / heads;
    return new LlamaConfig(
        arch,
        requiredInt(json, "vocab_size", where),
        hidden,
        requiredInt(json, "intermediate_size", where),
        requiredInt(json, "num_hidden_layers", where),
        heads,
        kvHeads,
        headDim,
        json.path("rms_norm_eps").asDouble(1e-6),
        theta,
        json.path("tie_word_embeddings").asBoolean(false),
        tokenId(json, "bos_token_id", 1),
        tokenId(json, "eos_token_id", 2),
        scaling,
        qkvBias,
        outputBias,
        window);
  }

  /** A token id that may be absent, null or (for eos in Llama 3) a list: the first one counts. */
  private static int tokenId(ObjectNode json, String key, int fallback) {
    JsonNode n = json.get(key);
    if (n == null || n.isNull()) {
      return fallback;
    }
    if (n.isArray()) {
      return n.size() == 0 ? fallback : n.get(0).asInt();
    }
    return n.asInt();
  }

  private static String architecture(ObjectNode json, String where) {
    JsonNode archs = json.get("architectures");
    if (archs == null || !archs.isArray() || archs.size() != 1) {
      throw new ModelConfigException(
          String.format("%s must list exactly one entry in \"architectures\"", where));
    }
    return archs.get(0).asText();
  }

  private static int requiredInt(ObjectNode json, String key, String where) {
    JsonNode n = json.get(key);
    if (n == null || !n.canConvertToInt() || n.asInt() <= 0) {
      throw new ModelConfigException(
          String.format("Missing or invalid %s in %s: %s", key, where, n));
    }
    return n.asInt();
  }

  private static void requireFalse(ObjectNode json, String key, String where) {
    if (json.path(key).asBoolean(false)) {
      throw new ModelConfigException(String.format("Unsupported %s=true in %s", key, where));
    }
  }

  /** Writes the fields back as a {@code config.json} for a model of this shape. */
  public ObjectNode toJson(ObjectNode target) {
    target.putArray("architectures").add(architecture);
    target.put(
        "model_type",
        switch (architecture) {
          case "MistralForCausalLM" -> "mistral";
          case "Qwen2ForCausalLM" -> "qwen2";
          default -> "llama";
        });
    target.put("vocab_size", vocabSize);
    target.put("hidden_size", hiddenSize);
    target.put("intermediate_size", intermediateSize);
    target.put("num_hidden_layers", numLayers);
    target.put("num_attention_heads", numHeads);
    target.put("num_key_value_heads", numKvHeads);
    target.put("head_dim", headDim);
    target.put("rms_norm_eps", rmsNormEps);
    target.put("rope_theta", ropeTheta);
    target.put("tie_word_embeddings", tieWordEmbeddings);
    target.put("bos_token_id", bosTokenId);
    target.put("eos_token_id", eosTokenId);
    target.put("hidden_act", "silu");
    target.put("max_position_embeddings", 2048);
    if (ropeScaling != null) {
      ropeScaling.toJson(target.putObject("rope_scaling"));
    }
    if (architecture.equals("LlamaForCausalLM")) {
      target.put("attention_bias", qkvBias);
    }
    if (architecture.equals("MistralForCausalLM")) {
      if (slidingWindow > 0) {
        target.put("sliding_window", slidingWindow);
      } else {
        target.putNull("sliding_window");
      }
    }
    if (architecture.equals("Qwen2ForCausalLM")) {
      target.put("use_sliding_window", false);
    }
    return target;
  }

  /** The tensor names and shapes a checkpoint of this config must have. */
  public List<TensorShape> expectedTensors() {
    List<TensorShape> out = new ArrayList<>();
    int q = numHeads * headDim;
    int kv = numKvHeads * headDim;
    out.add(new TensorShape("model.embed_tokens.weight", vocabSize, hiddenSize));
    for (int i = 0; i < numLayers; i++) {
      String p = "model.layers." + i + ".";
      out.add(new TensorShape(p + "input_layernorm.weight", hiddenSize));
      out.add(new TensorShape(p + "self_attn.q_proj.weight", q, hiddenSize));
      out.add(new TensorShape(p + "self_attn.k_proj.weight", kv, hiddenSize));
      out.add(new TensorShape(p + "self_attn.v_proj.weight", kv, hiddenSize));
      if (qkvBias) {
        out.add(new TensorShape(p + "self_attn.q_proj.bias", q));
        out.add(new TensorShape(p + "self_attn.k_proj.bias", kv));
        out.add(new TensorShape(p + "self_attn.v_proj.bias", kv));
      }
      out.add(new TensorShape(p + "self_attn.o_proj.weight", hiddenSize, q));
      if (outputBias) {
        out.add(new TensorShape(p + "self_attn.o_proj.bias", hiddenSize));
      }
      out.add(new TensorShape(p + "post_attention_layernorm.weight", hiddenSize));
      out.add(new TensorShape(p + "mlp.gate_proj.weight", intermediateSize, hiddenSize));
      out.add(new TensorShape(p + "mlp.up_proj.weight", intermediateSize, hiddenSize));
      out.add(new TensorShape(p + "mlp.down_proj.weight", hiddenSize, intermediateSize));
    }
    out.add(new TensorShape("model.norm.weight", hiddenSize));
    if (!tieWordEmbeddings) {
      out.add(new TensorShape("lm_head.weight", vocabSize, hiddenSize));
    }
    return out;
  }

  /** A tensor name and its expected shape. */
  public record TensorShape(String name, long... shape) {}
}
