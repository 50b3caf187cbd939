package dev.evomerge.worker.merge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MergeEngineTest {

  @Test
  void combiningManyTimesDoesNotGrowTheResidentManager() {
    try (NDManager resident = NDManager.newBaseManager(Device.cpu())) {
      Shape shape = new Shape(8, 16);
      List<NDArray> inputs =
          List.of(
              resident.randomNormal(shape),
              resident.randomNormal(shape),
              resident.randomNormal(shape));
      NDArray base = resident.randomNormal(shape);
      List<String> names = List.of("a", "b", "c");
      PreparedTensor t =
          MergeEngine.prepare("model.layers.0.mlp.up_proj.weight", names, inputs, base, true);
      int before = resident.getManagedArrays().size();
      for (String method :
          List.of("ties", "dare_ties", "della", "breadcrumbs", "model_stock", "linear")) {
        MergeMethod m = MergeMethods.get(method);
        Map<String, Object> pm =
            switch (method) {
              case "model_stock" -> Map.of();
              case "linear" -> Map.of("weight", 0.3);
              default -> Map.of("weight", 0.3, "density", 0.5);
            };
        ResolvedParams p = Params.resolve(m, Map.of(), List.of(pm, pm, pm), 1, t.name(), names);
        for (int i = 0; i < 20; i++) {
          try (NDManager candidate = NDManager.newBaseManager(Device.cpu())) {
            NDArray out = MergeEngine.combine(m, t, p, candidate);
            assertSame(candidate, out.getManager());
            assertEquals(shape, out.getShape());
          }
        }
      }
      assertEquals(before, resident.getManagedArrays().size());
    }
  }

  @Test
  void thePreparedBaseOutlivesTheInputsItWasReadFrom() {
    // as ResidentSources does: inputs read into a scratch manager that is closed after prepare
    float[] x = {1, 2, 3, 4, 5, 6};
    float[] b = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    try (NDManager resident = NDManager.newBaseManager(Device.cpu())) {
      PreparedTensor t;
      try (NDManager scratch = resident.newSubManager()) {
        NDArray input = scratch.create(x, new Shape(2, 3));
        NDArray base = scratch.create(b, new Shape(2, 3));
        t = MergeEngine.prepare("w", List.of("x"), List.of(input), base, true);
        for (NDArray a : new NDArray[] {t.stacked(), t.base(), t.deltas()}) {
          a.attach(resident);
        }
      }
      // overwrite freed native memory: the base must not read it
      for (int i = 0; i < 50; i++) {
        System.gc();
        try (NDManager other = NDManager.newBaseManager(Device.cpu())) {
          other.create(new float[] {9, 9, 9, 9, 9, 9}, new Shape(2, 3)).mul(2).toFloatArray();
        }
      }
      assertArrayEquals(b, t.base().toFloatArray());
      MergeMethod ta = MergeMethods.get("task_arithmetic");
      ResolvedParams p =
          Params.resolve(ta, Map.of(), List.of(Map.of("weight", 1.0)), 1, "w", List.of("x"));
      try (NDManager out = NDManager.newBaseManager(Device.cpu())) {
        assertArrayEquals(x, MergeEngine.combine(ta, t, p, out).toFloatArray(), 1e-6f);
      }
    }
  }

  @Test
  void prepareLeavesInputsAndComputesTaskVectors() {
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      NDArray x = m.create(new float[] {1, 2, 3, 4}, new Shape(2, 2));
      NDArray b = m.create(new float[] {1, 1, 1, 1}, new Shape(2, 2));
      PreparedTensor t = MergeEngine.prepare("w", List.of("x"), List.of(x), b, true);
      assertArrayEquals(new float[] {0, 1, 2, 3}, t.deltas().toFloatArray());
      assertArrayEquals(new float[] {1, 2, 3, 4}, x.toFloatArray());
      assertEquals(new Shape(1, 4), t.stacked().getShape());
    }
  }

  @Test
  void mismatchedShapesNameTheModelAndTensor() {
    try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
      NDArray x = m.zeros(new Shape(2, 2));
      NDArray y = m.zeros(new Shape(2, 3));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  MergeEngine.prepare(
                      "lm_head.weight", List.of("x", "y"), List.of(x, y), null, false));
      assertTrue(e.getMessage().contains("lm_head.weight of model y"), e.getMessage());
    }
  }
}
