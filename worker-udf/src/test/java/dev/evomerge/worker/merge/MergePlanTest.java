package dev.evomerge.worker.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MergePlanTest {
  static final String Q = "model.layers.%d.self_attn.q_proj.weight";
  static final String UP = "model.layers.%d.mlp.up_proj.weight";

  static Map<String, long[]> model(int layers) {
    Map<String, long[]> m = new LinkedHashMap<>();
    m.put("model.embed_tokens.weight", new long[] {8, 4});
    for (int i = 0; i < layers; i++) {
      m.put(String.format(Q, i), new long[] {4, 4});
      m.put(String.format(UP, i), new long[] {6, 4});
    }
    m.put("model.norm.weight", new long[] {4});
    m.put("lm_head.weight", new long[] {8, 4});
    return m;
  }

  static MergePlan.TensorJob job(MergePlan plan, String name) {
    return plan.jobs().stream().filter(j -> j.output().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void gradientsInterpolateOverLayerDepthAndEdgesResolveAtZero() {
    MergeRecipe r =
        RecipeYaml.parse(
            """
            merge_method: ties
            base_model: base
            models:
              - model: base
              - model: ft
                parameters: {weight: 1, density: [0.1, 1.0, 0.5]}
            """);
    MergePlan plan = MergePlan.plan(r, Map.of("base", model(4), "ft", model(4)), 0);
    // 4 layers: t = k/3; s = 2k/3 over 3 points
    double[] expected = {0.1, 0.1 / 3 + 2.0 / 3, (1 - 1.0 / 3) * 1.0 + (1.0 / 3) * 0.5, 0.5};
    for (int k = 0; k < 4; k++) {
      assertEquals(expected[k], job(plan, String.format(Q, k)).params().num(0, "density"), 1e-9);
    }
    assertEquals(0.1, job(plan, "model.embed_tokens.weight").params().num(0, "density"), 1e-12);
    assertEquals(0.1, job(plan, "lm_head.weight").params().num(0, "density"), 1e-12);
    MergePlan.TensorJob q0 = job(plan, String.format(Q, 0));
    assertEquals(List.of("ft"), q0.modelNames());
    assertEquals(new MergePlan.TensorRef("base", String.format(Q, 0)), q0.base());
    assertEquals(true, q0.params().flag("normalize"));
    assertEquals(4, plan.layerCount());
    assertEquals(
        "model.embed_tokens.weight", plan.jobs().get(0).output(), "pre-layer tensors come first");
    assertEquals("lm_head.weight", plan.jobs().get(plan.jobs().size() - 1).output());
  }

  @Test
  void filtersPickTheFirstMatchAndFallBack() {
    MergeRecipe r =
        RecipeYaml.parse(
            """
            merge_method: linear
            models:
              - model: a
                parameters:
                  weight:
                    - {filter: self_attn, value: 0.3}
                    - {filter: mlp, value: [0.1, 0.9]}
                    - {value: 2}
              - model: b
                parameters: {weight: 1}
            """);
    MergePlan plan = MergePlan.plan(r, Map.of("a", model(3), "b", model(3)), 0);
    assertEquals(0.3, job(plan, String.format(Q, 2)).params().num(0, "weight"), 1e-12);
    assertEquals(0.5, job(plan, String.format(UP, 1)).params().num(0, "weight"), 1e-12);
    assertEquals(0.9, job(plan, String.format(UP, 2)).params().num(0, "weight"), 1e-12);
    assertEquals(2.0, job(plan, "model.embed_tokens.weight").params().num(0, "weight"), 1e-12);
    assertEquals(1.0, job(plan, "lm_head.weight").params().num(1, "weight"), 1e-12);
  }

  @Test
  void sourceBeatsSliceBeatsTopLevel() {
    MergeRecipe r =
        RecipeYaml.parse(
            """
            merge_method: linear
            parameters: {weight: 1.0, normalize: false}
            slices:
              - sources:
                  - {model: a, layer_range: [0, 2], parameters: {weight: 0.2}}
                  - {model: b, layer_range: [2, 4]}
                parameters: {weight: 0.5, normalize: true}
              - sources:
                  - {model: a, layer_range: [2, 4]}
                  - {model: b, layer_range: [0, 2]}
            """);
    MergePlan plan = MergePlan.plan(r, Map.of("a", model(4), "b", model(4)), 0);
    MergePlan.TensorJob first = job(plan, String.format(Q, 1));
    assertEquals(0.2, first.params().num(0, "weight"), 1e-12);
    assertEquals(0.5, first.params().num(1, "weight"), 1e-12);
    assertEquals(true, first.params().flag("normalize"));
    assertEquals(
        List.of(
            new MergePlan.TensorRef("a", String.format(Q, 1)),
            new MergePlan.TensorRef("b", String.format(Q, 3))),
        first.inputs());
    MergePlan.TensorJob second = job(plan, String.format(Q, 2));
    assertEquals(1.0, second.params().num(0, "weight"), 1e-12);
    assertEquals(false, second.params().flag("normalize"));
    assertEquals(new MergePlan.TensorRef("b", String.format(Q, 0)), second.inputs().get(1));
  }

  @Test
  void passthroughSlicesStackLayersWithRepeats() {
    MergeRecipe r =
        RecipeYaml.parse(
            """
            merge_method: passthrough
            slices:
              - sources: [{model: a, layer_range: [0, 2]}]
              - sources: [{model: b, layer_range: [1, 4]}]
              - sources: [{model: b, layer_range: [1, 2]}]
            """);
    MergePlan plan = MergePlan.plan(r, Map.of("a", model(2), "b", model(4)), 0);
    assertEquals(6, plan.layerCount());
    assertEquals(
        List.of(new MergePlan.TensorRef("b", String.format(UP, 3))),
        job(plan, String.format(UP, 4)).inputs());
    assertEquals(
        List.of(new MergePlan.TensorRef("b", String.format(UP, 1))),
        job(plan, String.format(UP, 5)).inputs());
    assertEquals("a", job(plan, "model.embed_tokens.weight").inputs().get(0).model());
    assertEquals("b", job(plan, "lm_head.weight").inputs().get(0).model());
    assertNull(job(plan, "lm_head.weight").base());
    assertEquals(1 + 6 * 2 + 2, plan.jobs().size());
  }

  @Test
  void shapeMismatchNamesModelAndTensor() {
    Map<String, long[]> b = model(2);
    b.put(String.format(UP, 1), new long[] {7, 4});
    MergeRecipe r =
        RecipeYaml.parse(
            "merge_method: linear\nmodels:\n  - {model: a, parameters: {weight: 1}}\n"
                + "  - {model: b, parameters: {weight: 1}}\n");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> MergePlan.plan(r, Map.of("a", model(2), "b", b), 0));
    assertTrue(
        e.getMessage().contains(String.format(UP, 1)) && e.getMessage().contains("model b"),
        e.getMessage());
  }

  @Test
  void missingWeightAndSlerpArityAreCaughtAtPlanTime() {
    MergeRecipe noWeight =
        RecipeYaml.parse("merge_method: task_arithmetic\nbase_model: a\nmodels:\n  - model: b\n");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> MergePlan.plan(noWeight, Map.of("a", model(1), "b", model(1)), 0));
    assertTrue(e.getMessage().contains("Missing required weight for model b"), e.getMessage());
    MergeRecipe slerp =
        RecipeYaml.parse(
            "merge_method: slerp\nbase_model: a\nparameters: {t: 0.5}\n"
                + "models: [{model: a}, {model: b}, {model: c}]\n");
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> MergePlan.plan(slerp, Map.of("a", model(1), "b", model(1), "c", model(1)), 0));
    assertTrue(e.getMessage().contains("exactly 2 models"), e.getMessage());
    MergeRecipe density =
        RecipeYaml.parse(
            "merge_method: dare_ties\nbase_model: a\n"
                + "models: [{model: b, parameters: {weight: 1, density: 0}}]\n");
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> MergePlan.plan(density, Map.of("a", model(1), "b", model(1)), 0));
    assertTrue(e.getMessage().contains("Invalid density for model b"), e.getMessage());
  }
}
