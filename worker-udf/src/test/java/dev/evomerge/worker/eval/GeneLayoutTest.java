package dev.evomerge.worker.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class GeneLayoutTest {
  @Test
  void groupsCutTheLayersEvenlyAndFiltersPickTheFirstMatch() {
    GeneLayout layout = new GeneLayout(3, List.of("self_attn", "mlp"), false, 10);
    assertEquals(9, layout.cells());
    // groups [0, 4), [4, 7), [7, 10)
    assertEquals(
        List.of(0, 4, 7, 10),
        List.of(
            layout.groupStart(0),
            layout.groupStart(1),
            layout.groupStart(2),
            layout.groupStart(3)));
    assertEquals(0 * 3 + 1, layout.cellOf("model.layers.3.mlp.up_proj.weight"));
    assertEquals(1 * 3 + 0, layout.cellOf("model.layers.4.self_attn.q_proj.weight"));
    assertEquals(2 * 3 + 2, layout.cellOf("model.layers.9.input_layernorm.weight"));
    // before the layers: the first group; after them: the last
    assertEquals(2, layout.cellOf("model.embed_tokens.weight"));
    assertEquals(2 * 3 + 2, layout.cellOf("model.norm.weight"));
    assertEquals(2 * 3 + 2, layout.cellOf("lm_head.weight"));
    assertEquals(0, GeneLayout.GLOBAL.cellOf("model.layers.5.mlp.up_proj.weight"));
  }

  @Test
  void moreGroupsThanLayersOrRepeatedFiltersAreRefused() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new GeneLayout(3, List.of(), false, 2));
    assertTrue(e.getMessage().contains("3 layer groups for 2 layers"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> new GeneLayout(1, List.of("mlp", "mlp"), false, 2));
  }
}
