package dev.evomerge.worker.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;

/**
 * The {@code rope_scaling} block of a config, limited to the types whose math is implemented here
 * (as in Hugging Face's {@code modeling_rope_utils}); everything else is refused.
 *
 * @param type {@code linear} or {@code llama3}
 * @param factor scaling factor (both types)
 * @param lowFreqFactor llama3 only
 * @param highFreqFactor llama3 only
 * @param originalMaxPositionEmbeddings llama3 only: the context length the model was trained on
 */
public record RopeScaling(
    String type,
    double factor,
    double lowFreqFactor,
    double highFreqFactor,
    int originalMaxPositionEmbeddings)
    implements Serializable {

  public RopeScaling {
    if (!type.equals("linear") && !type.equals("llama3")) {
      throw new ModelConfigException(
          String.format("Unsupported rope_scaling type %s (supported: linear, llama3)", type));
    }
    if (!(factor > 0)) {
      throw new ModelConfigException("rope_scaling factor must be positive: " + factor);
    }
    if (type.equals("llama3")
        && (!(highFreqFactor > lowFreqFactor) || originalMaxPositionEmbeddings <= 0)) {
      throw new ModelConfigException(
          String.format(
              "Invalid llama3 rope_scaling: low_freq_factor %s, high_freq_factor %s,"
                  + " original_max_position_embeddings %d",
              lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings));
    }
  }

  public static RopeScaling linear(double factor) {
    return new RopeScaling("linear", factor, 0, 0, 0);
  }

  public static RopeScaling llama3(
      double factor, double lowFreqFactor, double highFreqFactor, int originalMax) {
    return new RopeScaling("llama3", factor, lowFreqFactor, highFreqFactor, originalMax);
  }

  /**
   * Parses a {@code rope_scaling} object; returns null for the unscaled {@code default} type.
   * {@code where} names the file in error messages.
   */
  static RopeScaling parse(JsonNode node, String where) {
    if (node == null || node.isNull()) {
      return null;
    }
    String type = node.hasNonNull("rope_type") ? node.get("rope_type").asText() : null;
    if (type == null) {
      type = node.path("type").asText("default");
    }
    if (type.equals("default")) {
      return null;
    }
    try {
      return switch (type) {
        case "linear" -> linear(required(node, "factor", where));
        case "llama3" ->
            llama3(
                required(node, "factor", where),
                required(node, "low_freq_factor", where),
                required(node, "high_freq_factor", where),
                (int) required(node, "original_max_position_embeddings", where));
        default ->
            throw new ModelConfigException(
                String.format("Unsupported rope_scaling type %s in %s", type, where));
      };
    } catch (ModelConfigException e) {
      if (e.getMessage().contains(where)) {
        throw e;
      }
      throw new ModelConfigException(e.getMessage() + " in " + where);
    }
  }

  private static double required(JsonNode node, String key, String where) {
    JsonNode v = node.get(key);
    if (v == null || !v.isNumber()) {
      throw new ModelConfigException(
          String.format("Missing or invalid rope_scaling.%s in %s: %s", key, where, v));
    }
    return v.asDouble();
  }

  void toJson(ObjectNode target) {
    target.put("rope_type", type);
    target.put("factor", factor);
    if (type.equals("llama3")) {
      target.put("low_freq_factor", lowFreqFactor);
      target.put("high_freq_factor", highFreqFactor);
      target.put("original_max_position_embeddings", originalMaxPositionEmbeddings);
    }
  }

  /** Applies the scaling to the unscaled inverse frequencies, in place, in float32 as HF does. */
  void scale(float[] invFreq) {
    if (type.equals("linear")) {
      for (int i = 0; i < invFreq.length; i++) {
        invFreq[i] = (float) (invFreq[i] / factor);
      }
      return;
    }
    double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
    double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
    for (int i = 0; i < invFreq.length; i++) {
      float f = invFreq[i];
      float wavelen = (float) (2 * Math.PI / f);
      if (wavelen > lowFreqWavelen) {
        invFreq[i] = (float) (f / factor);
      } else if (wavelen >= highFreqWavelen) {
        // medium frequencies: interpolate between scaled and unscaled
        float smooth =
            (float)
                ((originalMaxPositionEmbeddings / wavelen - lowFreqFactor)
                    / (highFreqFactor - lowFreqFactor));
        invFreq[i] = (float) ((1 - smooth) * f / factor + smooth * f);
      }
    }
  }
}
