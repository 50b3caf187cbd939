package dev.evomerge.worker.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * BF16 and F16 to F32 with the JDK 17 incubating Vector API: load a vector of shorts, widen each
 * lane to an int (S2I) and rebuild the F32 bits lane-wise. On AVX2/AVX-512 this compiles to a
 * sign-extending load, a few integer ops and a store, several times the scalar loop's rate in
 * cache. Loaded reflectively by {@link HalfKernel#best()} only when the module is present.
 */
final class VectorHalfKernel implements HalfKernel {
  private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Short> SHORTS =
      VectorSpecies.of(short.class, VectorShape.forBitSize(INTS.vectorBitSize() / 2));

  /** F16's exponent field once shifted into F32 position ({@code 0x7c00 << 13}). */
  private static final int F16_EXP = 0x0f800000;

  /** Rebias F16's exponent (15) to F32's (127): {@code (127 - 15) << 23}. */
  private static final int REBIAS = 0x38000000;

  /**
   * 2^-14, the smallest normal F16: subnormals are built as 2^-14 + m 2^-24, then it is taken off.
   */
  private static final float MIN_NORMAL_F16 = 0x1p-14f;

  @Override
  public void bf16(ByteBuffer in, float[] dst, int dstOffset, int count) {
    int end = count - count % INTS.length();
    if (in.hasArray()) {
      bf16Array(in.array(), in.arrayOffset(), dst, dstOffset, end);
    } else {
      bf16Buffer(in, dst, dstOffset, end);
    }
    for (int i = end; i < count; i++) {
      dst[dstOffset + i] = Float.intBitsToFloat(in.getShort(i << 1) << 16);
    }
  }

  @Override
  public void f16(ByteBuffer in, float[] dst, int dstOffset, int count) {
    int end = count - count % INTS.length();
    if (in.hasArray()) {
      f16Array(in.array(), in.arrayOffset(), dst, dstOffset, end);
    } else {
      f16Buffer(in, dst, dstOffset, end);
    }
    for (int i = end; i < count; i++) {
      dst[dstOffset + i] = HalfKernel.halfToFloat(in.getShort(i << 1));
    }
  }

  // one loop per method: each is compiled (and its vector ops intrinsified) on its own profile
  private static void bf16Array(byte[] a, int base, float[] dst, int dstOffset, int end) {
    for (int i = 0; i < end; i += INTS.length()) {
      bf16(
          ShortVector.fromByteArray(SHORTS, a, base + (i << 1), ByteOrder.LITTLE_ENDIAN),
          dst,
          dstOffset + i);
    }
  }

  private static void bf16Buffer(ByteBuffer in, float[] dst, int dstOffset, int end) {
    for (int i = 0; i < end; i += INTS.length()) {
      bf16(
          ShortVector.fromByteBuffer(SHORTS, in, i << 1, ByteOrder.LITTLE_ENDIAN),
          dst,
          dstOffset + i);
    }
  }

  private static void f16Array(byte[] a, int base, float[] dst, int dstOffset, int end) {
    for (int i = 0; i < end; i += INTS.length()) {
      f16(
          ShortVector.fromByteArray(SHORTS, a, base + (i << 1), ByteOrder.LITTLE_ENDIAN),
          dst,
          dstOffset + i);
    }
  }

  private static void f16Buffer(ByteBuffer in, float[] dst, int dstOffset, int end) {
    for (int i = 0; i < end; i += INTS.length()) {
      f16(
          ShortVector.fromByteBuffer(SHORTS, in, i << 1, ByteOrder.LITTLE_ENDIAN),
          dst,
          dstOffset + i);
    }
  }

  /** The sign extension of S2I is harmless: the shift discards the upper half. */
  private static void bf16(ShortVector s, float[] dst, int d) {
    ((IntVector) s.convertShape(VectorOperators.S2I, INTS, 0))
        .lanewise(VectorOperators.LSHL, 16)
        .reinterpretAsFloats()
        .intoArray(dst, d);
  }

  /**
   * Exponent and mantissa shifted into place and rebiased; infinities and NaNs (exponent all ones)
   * rebiased once more to F32's all-ones exponent, keeping the NaN payload; subnormals and zeros
   * (exponent zero) built as a normal F32 and corrected by a subtraction; the sign put back last.
   */
  private static void f16(ShortVector s, float[] dst, int d) {
    IntVector h = (IntVector) s.convertShape(VectorOperators.S2I, INTS, 0);
    IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
    IntVector o = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
    IntVector exp = o.and(F16_EXP);
    o = o.add(REBIAS);
    // blends rather than masked arithmetic: JDK 17 intrinsifies these on AVX2 and AVX-512
    o = o.blend(o.add(REBIAS), exp.compare(VectorOperators.EQ, F16_EXP));
    IntVector tiny = o.add(1 << 23).reinterpretAsFloats().sub(MIN_NORMAL_F16).reinterpretAsInts();
    o = o.blend(tiny, exp.compare(VectorOperators.EQ, 0));
    o.or(sign).reinterpretAsFloats().intoArray(dst, d);
  }

  @Override
  public String description() {
    return "Vector API, " + INTS.length() + " values per " + INTS.vectorBitSize() + "-bit store";
  }
}
