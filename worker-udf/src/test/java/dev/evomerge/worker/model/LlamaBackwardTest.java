package dev.evomerge.worker.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.evomerge.worker.io.FloatTensor;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The backward pass through {@link LlamaModel} must not read memory the JVM may free before it
 * runs: tensors DJL makes from Java data wrap a direct buffer without copying, and a buffer whose
 * NDArray was closed is freed by the next garbage collection even when the autograd graph still
 * holds the tensor.
 */
class LlamaBackwardTest {
  private static final LlamaConfig CONFIG = TinyCheckpoints.llama(2);
  private static final long[] IDS = {1, 5, 9, 4, 12, 7, 3, 8, 15, 6, 11, 19};

  @Test
  void gradientsDoNotChangeWhenTheJvmFreesBuffersBetweenForwardAndBackward() throws Exception {
    Map<String, FloatTensor> weights = TinyCheckpoints.random(CONFIG, 3);
    Map<String, float[]> reference = gradients(weights, false);
    for (int round = 0; round < 3; round++) {
      Map<String, float[]> got = gradients(weights, true);
      // bit for bit: the same graph over the same values, only the collection in between
      reference.forEach((name, g) -> assertArrayEquals(g, got.get(name), name));
    }
  }

  /** Gradients of the log-likelihood of {@link #IDS}, optionally with a GC before backward. */
  private static Map<String, float[]> gradients(Map<String, FloatTensor> weights, boolean collect)
      throws InterruptedException {
    Map<String, float[]> out = new LinkedHashMap<>();
    try (NDManager m = NDManager.newBaseManager(Device.cpu());
        NDScope scope = new NDScope()) {
      Map<String, NDArray> arrays = new LinkedHashMap<>();
      weights.forEach(
          (name, t) -> {
            NDArray a = m.create(t.data(), new Shape(t.shape()));
            a.setRequiresGradient(true);
            arrays.put(name, a);
          });
      LlamaModel model = new LlamaModel(CONFIG, arrays);
      int n = IDS.length - 1;
      long[] in = new long[n];
      long[] next = new long[n];
      System.arraycopy(IDS, 0, in, 0, n);
      System.arraycopy(IDS, 1, next, 0, n);
      try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        NDArray logLikelihood =
            model
                .logProbs(m.create(in, new Shape(1, n)))
                .gather(m.create(next, new Shape(1, n, 1)), -1)
                .sum();
        List<ByteBuffer> scribbled = collect ? freeAndOverwriteUnreachableBuffers() : List.of();
        collector.backward(logLikelihood);
        assertNotNull(scribbled);
      }
      arrays.forEach((name, a) -> out.put(name, a.getGradient().toFloatArray()));
    }
    return out;
  }

  /**
   * Collects garbage, waits until the collection's freed direct buffers are released (two rounds of
   * the reference handler, so the first round's cleaners have all run), then allocates small direct
   * buffers full of NaN, which reuse what was freed.
   */
  private static List<ByteBuffer> freeAndOverwriteUnreachableBuffers() throws InterruptedException {
    for (int round = 0; round < 2; round++) {
      ReferenceQueue<Object> queue = new ReferenceQueue<>();
      WeakReference<Object> canary = new WeakReference<>(new Object(), queue);
      while (queue.remove(100) == null) {
        System.gc();
      }
      assertNotNull(canary);
    }
    List<ByteBuffer> out = new ArrayList<>();
    for (int i = 0; i < 4096; i++) {
      ByteBuffer b = ByteBuffer.allocateDirect(4 << (i % 8)).order(ByteOrder.nativeOrder());
      while (b.hasRemaining()) {
        b.putFloat(Float.NaN);
      }
      out.add(b);
    }
    return out;
  }
}
