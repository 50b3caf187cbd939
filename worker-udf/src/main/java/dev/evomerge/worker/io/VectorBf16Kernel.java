package dev.evomerge.worker.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * BF16 to F32 with the JDK 17 incubating Vector API: load a vector of shorts, widen each lane to an
 * int (S2I), shift left by 16 and store the lanes as floats. On AVX2/AVX-512 this compiles to a
 * sign-extending load, a shift and a store, several times the scalar loop's rate in cache. Loaded
 * reflectively by {@link Bf16Kernel#best()} only when the module is present; the sign extension is
 * harmless because the shift discards the upper half.
 */
final class VectorBf16Kernel implements Bf16Kernel {
  private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
  private static final VectorSpecies<Short> SHORTS =
      VectorSpecies.of(short.class, VectorShape.forBitSize(INTS.vectorBitSize() / 2));

  @Override
  public void widen(ByteBuffer in, float[] dst, int dstOffset, int count) {
    int end = count - count % INTS.length();
    if (in.hasArray()) {
      widenArray(in.array(), in.arrayOffset(), dst, dstOffset, end);
    } else {
      widenBuffer(in, dst, dstOffset, end);
    }
    Bf16Kernel.tail(in, dst, dstOffset, end, count);
  }

  // one loop per method: each is compiled (and its vector ops intrinsified) on its own profile
  private static void widenArray(byte[] a, int base, float[] dst, int dstOffset, int end) {
    for (int i = 0; i < end; i += INTS.length()) {
      widen(
          ShortVector.fromByteArray(SHORTS, a, base + (i << 1), ByteOrder.LITTLE_ENDIAN),
          dst,
          dstOffset + i);
    }
  }

  private static void widenBuffer(ByteBuffer in, float[] dst, int dstOffset, int end) {
    for (int i = 0; i < end; i += INTS.length()) {
      widen(
          ShortVector.fromByteBuffer(SHORTS, in, i << 1, ByteOrder.LITTLE_ENDIAN),
          dst,
          dstOffset + i);
    }
  }

  private static void widen(ShortVector s, float[] dst, int d) {
    ((IntVector) s.convertShape(VectorOperators.S2I, INTS, 0))
        .lanewise(VectorOperators.LSHL, 16)
        .reinterpretAsFloats()
        .intoArray(dst, d);
  }

  @Override
  public String description() {
    return "Vector API, " + INTS.length() + " values per " + INTS.vectorBitSize() + "-bit store";
  }
}
