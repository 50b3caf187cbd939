package dev.evomerge.worker.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Builds small prepared tensors and runs one method on them. */
final class MergeTestSupport implements AutoCloseable {
  final NDManager manager = NDManager.newBaseManager(Device.cpu());

  PreparedTensor prepare(String method, Shape shape, float[] base, float[]... inputs) {
    List<NDArray> arrays = new ArrayList<>();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < inputs.length; i++) {
      arrays.add(manager.create(inputs[i], shape));
      names.add("m" + i);
    }
    NDArray b = base == null ? null : manager.create(base, shape);
    return MergeEngine.prepare(MergeMethods.get(method), "t", names, arrays, b);
  }

  float[] merge(
      String method,
      Map<String, ?> global,
      List<? extends Map<String, ?>> perModel,
      long seed,
      float[] base,
      float[]... inputs) {
    return merge(method, new Shape(inputs[0].length), global, perModel, seed, base, inputs);
  }

  float[] merge(
      String method,
      Shape shape,
      Map<String, ?> global,
      List<? extends Map<String, ?>> perModel,
      long seed,
      float[] base,
      float[]... inputs) {
    MergeMethod m = MergeMethods.get(method);
    PreparedTensor t = prepare(method, shape, base, inputs);
    List<String> names = new ArrayList<>();
    for (int i = 0; i < inputs.length; i++) {
      names.add("m" + i);
    }
    ResolvedParams p = Params.resolve(m, global, perModel, seed, "t", names);
    try (NDManager out = manager.newSubManager()) {
      return MergeEngine.combine(m, t, p, out).toFloatArray();
    }
  }

  static void assertClose(double[] expected, float[] actual, double tol) {
    assertEquals(expected.length, actual.length, "length");
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], tol, "entry " + i);
    }
  }

  static void assertClose(float[] expected, float[] actual, double tol) {
    double[] e = new double[expected.length];
    for (int i = 0; i < e.length; i++) {
      e[i] = expected[i];
    }
    assertClose(e, actual, tol);
  }

  static Map<String, Object> w(double weight) {
    return Map.of("weight", weight);
  }

  @Override
  public void close() {
    manager.close();
  }
}
