package dev.evomerge.worker.merge;

import com.google.common.base.Preconditions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A merge recipe in mergekit's vocabulary; read and written by {@link RecipeYaml}.
 *
 * @param mergeMethod a name registered in {@link MergeMethods}
 * @param baseModel {@code base_model}, or null
 * @param models the {@code models} form, or null when {@code slices} is used
 * @param slices the {@code slices} form, or null when {@code models} is used
 * @param parameters top-level {@code parameters}
 * @param dtype {@code dtype}, or null
 * @param outDtype {@code out_dtype}, or null
 * @param tokenizerSource top-level {@code tokenizer_source}, or null
 * @param tokenizer the {@code tokenizer} block as written (its {@code source} included), or null
 * @param randomSeed seed of DARE/DELLA drops ({@code random_seed}), or null
 * @param extra other top-level keys (e.g. {@code chat_template}), kept verbatim for the round trip
 */
public record MergeRecipe(
    String mergeMethod,
    String baseModel,
    List<InputModel> models,
    List<Slice> slices,
    Map<String, ParamValue> parameters,
    String dtype,
    String outDtype,
    String tokenizerSource,
    Map<String, Object> tokenizer,
    Long randomSeed,
    Map<String, Object> extra) {

  public MergeRecipe {
    Preconditions.checkArgument(mergeMethod != null, "Recipe has no merge_method");
    Preconditions.checkArgument(
        (models == null) != (slices == null), "Recipe needs exactly one of models or slices");
    models = models == null ? null : List.copyOf(models);
    slices = slices == null ? null : List.copyOf(slices);
    parameters = parameters == null ? Map.of() : copy(parameters);
    tokenizer = tokenizer == null ? null : copy(tokenizer);
    extra = extra == null ? Map.of() : copy(extra);
  }

  /** One entry of {@code models}. */
  public record InputModel(String model, Map<String, ParamValue> parameters) {
    public InputModel {
      Preconditions.checkArgument(model != null && !model.isEmpty(), "A model entry has no model");
      parameters = parameters == null ? Map.of() : copy(parameters);
    }
  }

  /** One entry of {@code slices}. */
  public record Slice(List<SliceSource> sources, Map<String, ParamValue> parameters) {
    public Slice {
      Preconditions.checkArgument(sources != null && !sources.isEmpty(), "A slice has no sources");
      sources = List.copyOf(sources);
      parameters = parameters == null ? Map.of() : copy(parameters);
    }

    public int length() {
      return sources.get(0).length();
    }
  }

  /** A source of a slice: layers {@code [start, end)} of a model. */
  public record SliceSource(String model, int start, int end, Map<String, ParamValue> parameters) {
    public SliceSource {
      Preconditions.checkArgument(model != null && !model.isEmpty(), "A slice source has no model");
      Preconditions.checkArgument(
          0 <= start && start <= end,
          "Invalid layer_range [%s, %s] for model %s",
          start,
          end,
          model);
      parameters = parameters == null ? Map.of() : copy(parameters);
    }

    public int length() {
      return end - start;
    }
  }

  /** {@code tokenizer.source}, else {@code tokenizer_source}, else null. */
  public String effectiveTokenizerSource() {
    if (tokenizer != null && tokenizer.get("source") instanceof String s) {
      return s;
    }
    return tokenizerSource;
  }

  /** The same recipe with {@code random_seed} set. */
  public MergeRecipe withRandomSeed(long seed) {
    return new MergeRecipe(
        mergeMethod,
        baseModel,
        models,
        slices,
        parameters,
        dtype,
        outDtype,
        tokenizerSource,
        tokenizer,
        seed,
        extra);
  }

  private static <V> Map<String, V> copy(Map<String, V> m) {
    return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(m));
  }
}
