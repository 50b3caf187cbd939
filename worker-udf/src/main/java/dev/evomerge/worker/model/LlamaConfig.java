package dev.evomerge.worker.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The fields of a Llama-family {@code config.json} that change the math.
 *
 * <p>Fields this runtime does not implement (RoPE scaling, biases, other activations) are refused
 * rather than silently approximated.
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
    int eosTokenId)
    implements Serializable {

  static final Set<String> SUPPORTED = Set.of("LlamaForCausalLM");

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
  }

  /** Parses {@code config.json}; {@code where} names the file in error messages. */
  public static LlamaConfig parse(ObjectNode json, String where) {
    String arch = architecture(json, where);
    if (!SUPPORTED.contains(arch)) {
      throw new ModelConfigException(
          String.format(
              "Unsupported architecture %s in %s (supported: %s)", arch, where, SUPPORTED));
    }
    requireAbsentOrNull(json, "rope_scaling", where);
    requireFalse(json, "attention_bias", where);
    requireFalse(json, "mlp_bias", where);
    String act = json.path("hidden_act").asText("silu");
    if (!"silu".equals(act)) {
      throw new ModelConfigException(
          String.format("Unsupported hidden_act %s in %s (only silu)", act, where));
    }
    int hidden = requiredInt(json, "hidden_size", where);
    int heads = requiredInt(json, "num_attention_heads", where);
    int kvHeads =
        json.has("num_key_value_heads") ? requiredInt(json, "num_key_value_heads", where) : heads;
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
        json.path("rope_theta").asDouble(10000.0),
        json.path("tie_word_embeddings").asBoolean(false),
        json.path("bos_token_id").asInt(1),
        json.path("eos_token_id").asInt(2));
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

  private static void requireAbsentOrNull(ObjectNode json, String key, String where) {
    if (json.hasNonNull(key)) {
      throw new ModelConfigException(
          String.format("Unsupported %s in %s: %s", key, where, json.get(key)));
    }
  }

  private static void requireFalse(ObjectNode json, String key, String where) {
    if (json.path(key).asBoolean(false)) {
      throw new ModelConfigException(String.format("Unsupported %s=true in %s", key, where));
    }
  }

  /** Writes the fields back as a {@code config.json} for a model of this shape. */
  public ObjectNode toJson(ObjectNode target) {
    target.putArray("architectures").add(architecture);
    target.put("model_type", "llama");
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
      out.add(new TensorShape(p + "self_attn.o_proj.weight", hiddenSize, q));
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
