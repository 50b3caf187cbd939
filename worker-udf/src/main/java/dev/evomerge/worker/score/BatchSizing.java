package dev.evomerge.worker.score;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;
import dev.evomerge.worker.model.LlamaConfig;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;

/**
 * A default batch size from the memory a forward pass needs per row, so scoring neither runs out of
 * memory on large vocabularies nor wastes throughput on small models.
 */
public final class BatchSizing {
  /** Most rows per forward pass chosen automatically (more gains nothing on CPU or GPU here). */
  public static final int MAX_AUTOMATIC = 64;

  /** Share of free host memory a batch may take (the JVM and other tasks need the rest). */
  static final double HOST_FRACTION = 0.25;

  /** Share of the GPU's free memory a batch may take (the allocator caches and fragments). */
  static final double DEVICE_FRACTION = 0.5;

  private BatchSizing() {}

  /**
   * F32 bytes live per row of {@code seqLen} tokens at the peak of a scoring forward pass: logits
   * and log-probabilities ({@code 2 V}), a layer's activations (about {@code 8 H + 3 I}) and its
   * attention scores and probabilities ({@code 2 heads T}), all per token.
   */
  public static long bytesPerRow(LlamaConfig c, int seqLen) {
    long perToken =
        2L * c.vocabSize()
            + 8L * c.hiddenSize()
            + 3L * c.intermediateSize()
            + 2L * c.numHeads() * seqLen;
    return 4L * perToken * seqLen;
  }

  /** Rows that fit in {@code fraction} of {@code freeBytes}, between 1 and {@code max}. */
  public static int batchSize(LlamaConfig c, int seqLen, long freeBytes, double fraction, int max) {
    long rows = (long) (freeBytes * fraction) / Math.max(1, bytesPerRow(c, seqLen));
    return (int) Math.max(1, Math.min(max, rows));
  }

  /** As above with this machine's free physical memory, a quarter of it, at most 64 rows. */
  public static int automatic(LlamaConfig c, int seqLen) {
    return automatic(c, seqLen, Device.cpu());
  }

  /**
   * The automatic batch size for sequences of up to {@code seqLen} tokens on {@code device}: half
   * the GPU's free memory (as CUDA reports it) on a GPU, else a quarter of the host's free physical
   * memory, less one candidate's weights, at most {@link #MAX_AUTOMATIC} rows.
   */
  public static int automatic(LlamaConfig c, int seqLen, Device device) {
    return automatic(c, seqLen, device.isGpu() ? freeDeviceBytes(device) : -1, freeHostBytes());
  }

  /**
   * The rule of {@link #automatic(LlamaConfig, int, Device)} on given numbers. Free memory is taken
   * before a candidate's merged weights exist, so their F32 bytes ({@link #weightBytes}) are taken
   * off first.
   *
   * @param freeDevice free bytes of the GPU the batch runs on, or -1 on the CPU (or when unknown)
   */
  static int automatic(LlamaConfig c, int seqLen, long freeDevice, long freeHost) {
    long weights = weightBytes(c);
    return freeDevice > 0
        ? batchSize(c, seqLen, Math.max(0, freeDevice - weights), DEVICE_FRACTION, MAX_AUTOMATIC)
        : batchSize(c, seqLen, Math.max(0, freeHost - weights), HOST_FRACTION, MAX_AUTOMATIC);
  }

  /** F32 bytes of one set of the model's weights. */
  static long weightBytes(LlamaConfig c) {
    long n = 0;
    for (LlamaConfig.TensorShape t : c.expectedTensors()) {
      long size = 1;
      for (long d : t.shape()) {
        size *= d;
      }
      n += size;
    }
    return 4 * n;
  }

  /** Free physical memory of this machine (the JVM's max heap where the OS does not say). */
  static long freeHostBytes() {
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getFreeMemorySize();
    }
    return Runtime.getRuntime().maxMemory();
  }

  /** Free memory of a GPU, or -1 when the engine cannot tell. */
  static long freeDeviceBytes(Device device) {
    try {
      MemoryUsage m = CudaUtils.getGpuMemory(device);
      return m == null || m.getMax() <= 0 ? -1 : m.getMax() - m.getCommitted();
    } catch (RuntimeException e) {
      return -1;
    }
  }
}
