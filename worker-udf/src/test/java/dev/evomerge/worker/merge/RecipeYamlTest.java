package dev.evomerge.worker.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RecipeYamlTest {
  static final String TIES =
      """
      models:
        - model: org/base
        - model: org/math
          parameters:
            density: [1, 0.7, 0.1]
            weight: 1.0
        - model: org/code
          parameters:
            density:
              - filter: mlp
                value: 0.5
              - value: 0
            weight:
              - filter: self_attn
                value: [0.2, 0.8]
              - value: 1
      merge_method: ties
      base_model: org/base
      parameters:
        normalize: true
        int8_mask: true
      dtype: bfloat16
      tokenizer_source: base
      """;

  static final String FRANKEN =
      """
      slices:
        - sources:
            - model: org/a
              layer_range: [0, 24]
        - sources:
            - model: org/b
              layer_range: [8, 32]
              parameters:
                scale: 0.5
      merge_method: passthrough
      dtype: float16
      out_dtype: bfloat16
      tokenizer:
        source: union
        tokens:
          <|im_start|>:
            source: org/b
      chat_template: chatml
      random_seed: 1234
      """;

  @Test
  void readsTheModelsFormWithGradientsAndFilters() {
    String yaml = TIES;
    MergeRecipe r = RecipeYaml.parse(yaml);
    assertEquals("ties", r.mergeMethod());
    assertEquals("org/base", r.baseModel());
    assertEquals(3, r.models().size());
    assertEquals(
        new ParamValue.Gradient(List.of(1.0, 0.7, 0.1)),
        r.models().get(1).parameters().get("density"));
    ParamValue weight = r.models().get(2).parameters().get("weight");
    assertEquals(
        0.5, (Double) weight.resolve("model.layers.3.self_attn.q_proj.weight", 0.5), 1e-12);
    assertEquals(1.0, weight.resolve("model.layers.3.mlp.up_proj.weight", 0.5));
    assertEquals(new ParamValue.Scalar(true), r.parameters().get("normalize"));
    assertEquals("bfloat16", r.dtype());
    assertEquals("base", r.effectiveTokenizerSource());
  }

  @Test
  void roundTripIsLossless() {
    for (String yaml : List.of(TIES, FRANKEN)) {
      MergeRecipe first = RecipeYaml.parse(yaml);
      String written = RecipeYaml.write(first);
      MergeRecipe second = RecipeYaml.parse(written);
      assertEquals(first, second, written);
      assertEquals(written, RecipeYaml.write(second));
    }
  }

  @Test
  void keepsTokenizerBlockExtraKeysAndSeed() {
    MergeRecipe r = RecipeYaml.parse(FRANKEN);
    assertEquals("union", r.effectiveTokenizerSource());
    assertEquals(Map.of("chat_template", "chatml"), r.extra());
    assertEquals(1234L, r.randomSeed());
    assertEquals(8, r.slices().get(1).sources().get(0).start());
    assertEquals(24, r.slices().get(1).length());
    assertTrue(RecipeYaml.write(r).contains("layer_range:\n"), RecipeYaml.write(r));
    assertEquals(99L, RecipeYaml.parse(RecipeYaml.write(r.withRandomSeed(99))).randomSeed());
  }

  @Test
  void aParameterTheMethodDoesNotTakeNamesKeyAndModel() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> RecipeYaml.parse(TIES.replace("int8_mask: true", "epsilon: 0.1")));
    assertTrue(e.getMessage().contains("does not take parameter epsilon"), e.getMessage());
    String bad = TIES.replace("weight: 1.0", "gamma: 0.1");
    e = assertThrows(IllegalArgumentException.class, () -> RecipeYaml.parse(bad));
    assertTrue(
        e.getMessage().contains("gamma") && e.getMessage().contains("org/math"), e.getMessage());
  }

  @Test
  void unknownMethodSuggestsTheNearestName() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> RecipeYaml.parse(FRANKEN.replace("passthrough", "passthru")));
    assertTrue(e.getMessage().contains("did you mean passthrough?"), e.getMessage());
  }

  @Test
  void layerRangesOfDifferentLengthsInOneSliceAreRejected() {
    String yaml =
        """
        merge_method: slerp
        base_model: a
        parameters: {t: 0.5}
        slices:
          - sources:
              - model: a
                layer_range: [0, 8]
              - model: b
                layer_range: [0, 6]
        """;
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> RecipeYaml.parse(yaml));
    assertTrue(
        e.getMessage().contains("slices[0]") && e.getMessage().contains("model b has [0, 6)"),
        e.getMessage());
  }

  @Test
  void needsExactlyOneOfModelsAndSlices() {
    assertThrows(IllegalArgumentException.class, () -> RecipeYaml.parse("merge_method: linear\n"));
  }
}
