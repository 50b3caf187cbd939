package dev.evomerge.worker.io;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.LongBuffer;

/**
 * Widens little-endian 16-bit floats to F32, the hot loop of every BF16 or F16 checkpoint read.
 * BF16 is the top half of an F32, so each value is {@code Float.intBitsToFloat(bits << 16)}; F16 is
 * IEEE binary16 ({@link #halfToFloat}).
 */
interface HalfKernel {
  /** System property: {@code false} keeps the scalar kernel even where the Vector API exists. */
  String VECTOR_PROPERTY = "evomerge.io.vector";

  /**
   * Widens {@code count} BF16 values stored from index 0 of {@code in}, a little-endian-ordered
   * buffer (its position and limit are ignored; the caller checked the length), into {@code
   * dst[dstOffset..]}.
   */
  void bf16(ByteBuffer in, float[] dst, int dstOffset, int count);

  /** As {@link #bf16} for F16 values. */
  void f16(ByteBuffer in, float[] dst, int dstOffset, int count);

  /** What this kernel is, for benchmark output. */
  String description();

  /**
   * IEEE 754 binary16 to F32 (JDK 17 has no Float.float16ToFloat), one value: the reference the
   * kernels are checked against. Here rather than in DTypeConversions so that building the scalar
   * table does not start DTypeConversions' initialisation, which picks the kernel.
   */
  static float halfToFloat(short half) {
    int h = half & 0xffff;
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      if (mant == 0) {
        return Float.intBitsToFloat(sign);
      }
      // subnormal: value = mant * 2^-24
      float v = mant * 0x1p-24f;
      return sign == 0 ? v : -v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /**
   * The Vector API kernel when {@code jdk.incubator.vector} is in the boot layer (the launcher,
   * spark-submit and surefire all add it) and it agrees with the scalar kernel on a self-check;
   * otherwise (module absent, an API of another JDK, the property set to false) the scalar one.
   */
  static HalfKernel best() {
    HalfKernel scalar = new Scalar();
    if (!Boolean.parseBoolean(System.getProperty(VECTOR_PROPERTY, "true"))
        || ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      return scalar;
    }
    try {
      HalfKernel vector =
          (HalfKernel)
              Class.forName("dev.evomerge.worker.io.VectorHalfKernel")
                  .getDeclaredConstructor()
                  .newInstance();
      return agrees(vector, scalar) ? vector : scalar;
    } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
      return scalar;
    }
  }

  /**
   * Both kernels give the same bits for BF16 and F16 on every 16-bit pattern, heap and direct, with
   * a ragged tail.
   */
  static boolean agrees(HalfKernel candidate, HalfKernel reference) {
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
      for (boolean brain : new boolean[] {true, false}) {
        ByteBuffer in = b.order(ByteOrder.LITTLE_ENDIAN);
        if (brain) {
          reference.bf16(in, want, 0, n);
          candidate.bf16(in, got, 0, n);
        } else {
          reference.f16(in, want, 0, n);
          candidate.f16(in, got, 0, n);
        }
        for (int i = 0; i < n; i++) {
          if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
            return false;
          }
        }
      }
    }
    return true;
  }

  /**
   * Four values per 64-bit little-endian load (a VarHandle view of a heap array, a LongBuffer view
   * of a mapped or direct buffer), stored straight into the destination; F16 through a 65536-entry
   * table (256 KiB, stays in L2) instead of branches per element.
   */
  final class Scalar implements HalfKernel {
    private static final VarHandle LONG_LE =
        MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private static final float[] F16 = new float[65536];

    static {
      for (int h = 0; h < 65536; h++) {
        F16[h] = HalfKernel.halfToFloat((short) h);
      }
    }

    @Override
    public void bf16(ByteBuffer in, float[] dst, int dstOffset, int count) {
      int quads = count >>> 2;
      if (in.hasArray()) {
        bf16Array(in.array(), in.arrayOffset(), dst, dstOffset, quads);
      } else {
        bf16Buffer(longs(in), dst, dstOffset, quads);
      }
      for (int i = quads << 2; i < count; i++) {
        dst[dstOffset + i] = Float.intBitsToFloat(in.getShort(i << 1) << 16);
      }
    }

    @Override
    public void f16(ByteBuffer in, float[] dst, int dstOffset, int count) {
      int quads = count >>> 2;
      if (in.hasArray()) {
        f16Array(in.array(), in.arrayOffset(), dst, dstOffset, quads);
      } else {
        f16Buffer(longs(in), dst, dstOffset, quads);
      }
      for (int i = quads << 2; i < count; i++) {
        dst[dstOffset + i] = F16[in.getShort(i << 1) & 0xffff];
      }
    }

    private static LongBuffer longs(ByteBuffer in) {
      return in.duplicate().position(0).order(ByteOrder.LITTLE_ENDIAN).asLongBuffer();
    }

    // one loop per method, so that each is compiled on its own profile
    private static void bf16Array(byte[] a, int base, float[] dst, int dstOffset, int quads) {
      for (int i = 0; i < quads; i++) {
        storeBf16((long) LONG_LE.get(a, base + (i << 3)), dst, dstOffset + (i << 2));
      }
    }

    private static void bf16Buffer(LongBuffer longs, float[] dst, int dstOffset, int quads) {
      for (int i = 0; i < quads; i++) {
        storeBf16(longs.get(i), dst, dstOffset + (i << 2));
      }
    }

    private static void f16Array(byte[] a, int base, float[] dst, int dstOffset, int quads) {
      for (int i = 0; i < quads; i++) {
        storeF16((long) LONG_LE.get(a, base + (i << 3)), dst, dstOffset + (i << 2));
      }
    }

    private static void f16Buffer(LongBuffer longs, float[] dst, int dstOffset, int quads) {
      for (int i = 0; i < quads; i++) {
        storeF16(longs.get(i), dst, dstOffset + (i << 2));
      }
    }

    private static void storeBf16(long w, float[] dst, int d) {
      int lo = (int) w;
      int hi = (int) (w >>> 32);
      dst[d] = Float.intBitsToFloat(lo << 16);
      dst[d + 1] = Float.intBitsToFloat(lo & 0xffff0000);
      dst[d + 2] = Float.intBitsToFloat(hi << 16);
      dst[d + 3] = Float.intBitsToFloat(hi & 0xffff0000);
    }

    private static void storeF16(long w, float[] dst, int d) {
      dst[d] = F16[(int) w & 0xffff];
      dst[d + 1] = F16[(int) (w >>> 16) & 0xffff];
      dst[d + 2] = F16[(int) (w >>> 32) & 0xffff];
      dst[d + 3] = F16[(int) (w >>> 48)];
    }

    @Override
    public String description() {
      return "scalar, 4 values per 64-bit load";
    }
  }
}
