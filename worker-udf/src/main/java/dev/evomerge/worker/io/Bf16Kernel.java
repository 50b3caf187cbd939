package dev.evomerge.worker.io;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;

/**
 * Widens little-endian BF16 to F32: BF16 is the top half of an F32, so each value is {@code
 * Float.intBitsToFloat(bits << 16)}. The hot loop of every BF16 checkpoint read.
 */
interface Bf16Kernel {
  /** System property: {@code false} keeps the scalar kernel even where the Vector API exists. */
  String VECTOR_PROPERTY = "evomerge.io.bf16.vector";

  /**
   * Widens {@code count} values stored from index 0 of {@code in}, a little-endian-ordered buffer
   * (its position and limit are ignored; the caller checked the length), into {@code
   * dst[dstOffset..]}.
   */
  void widen(ByteBuffer in, float[] dst, int dstOffset, int count);

  /** What this kernel is, for benchmark output. */
  String description();

  /**
   * The Vector API kernel when {@code jdk.incubator.vector} is in the boot layer (the launcher,
   * spark-submit and surefire all add it) and it agrees with the scalar kernel on a self-check;
   * otherwise (module absent, an API of another JDK, the property set to false) the scalar one.
   */
  static Bf16Kernel best() {
    Bf16Kernel scalar = new Scalar();
    if (!Boolean.parseBoolean(System.getProperty(VECTOR_PROPERTY, "true"))
        || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      return scalar;
    }
    try {
      Bf16Kernel vector =
          (Bf16Kernel)
              Class.forName("dev.evomerge.worker.io.VectorBf16Kernel")
                  .getDeclaredConstructor()
                  .newInstance();
      return agrees(vector, scalar) ? vector : scalar;
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      return scalar;
    }
  }

  /** Both kernels give the same bits on every BF16 pattern, heap and direct, with a ragged tail. */
  static boolean agrees(Bf16Kernel candidate, Bf16Kernel reference) {
    int n = 65536 + 13;
    ByteBuffer heap = ByteBuffer.allocate(2 * n + 2).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < n + 1; i++) {
      heap.putShort((short) (i * 40503));
    }
    ByteBuffer direct = ByteBuffer.allocateDirect(heap.capacity()).order(ByteOrder.LITTLE_ENDIAN);
    direct.put(heap.flip()).flip();
    float[] want = new float[n];
    float[] got = new float[n];
    for (ByteBuffer b : new ByteBuffer[] {heap.slice(2, 2 * n), direct.slice(2, 2 * n)}) {
      reference.widen(b.order(ByteOrder.LITTLE_ENDIAN), want, 0, n);
      candidate.widen(b.order(ByteOrder.LITTLE_ENDIAN), got, 0, n);
      for (int i = 0; i < n; i++) {
        if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * Four values per 64-bit little-endian load (a VarHandle view of a heap array, a LongBuffer view
   * of a mapped or direct buffer), stored straight into the destination.
   */
  final class Scalar implements Bf16Kernel {
    private static final VarHandle LONG_LE =
        MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    @Override
    public void widen(ByteBuffer in, float[] dst, int dstOffset, int count) {
      int quads = count >>> 2;
      if (in.hasArray()) {
        widenArray(in.array(), in.arrayOffset(), dst, dstOffset, quads);
      } else {
        widenBuffer(
            in.duplicate().position(0).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer(),
            dst,
            dstOffset,
            quads);
      }
      tail(in, dst, dstOffset, quads << 2, count);
    }

    // one loop per method, so that each is compiled on its own profile
    private static void widenArray(byte[] a, int base, float[] dst, int dstOffset, int quads) {
      for (int i = 0; i < quads; i++) {
        store((long) LONG_LE.get(a, base + (i << 3)), dst, dstOffset + (i << 2));
      }
    }

    private static void widenBuffer(LongBuffer longs, float[] dst, int dstOffset, int quads) {
      for (int i = 0; i < quads; i++) {
        store(longs.get(i), dst, dstOffset + (i << 2));
      }
    }

    private static void store(long w, float[] dst, int d) {
      int lo = (int) w;
      int hi = (int) (w >>> 32);
      dst[d] = Float.intBitsToFloat(lo << 16);
      dst[d + 1] = Float.intBitsToFloat(lo & 0xffff0000);
      dst[d + 2] = Float.intBitsToFloat(hi << 16);
      dst[d + 3] = Float.intBitsToFloat(hi & 0xffff0000);
    }

    @Override
    public String description() {
      return "scalar, 4 values per 64-bit load";
    }
  }

  /** Values {@code [from, count)} one by one (the ragged end of a vector or 64-bit loop). */
  static void tail(ByteBuffer in, float[] dst, int dstOffset, int from, int count) {
    for (int i = from; i < count; i++) {
      dst[dstOffset + i] = Float.intBitsToFloat(in.getShort(i << 1) << 16);
    }
  }
}
