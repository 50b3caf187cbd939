package dev.evomerge.worker.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DTypeConversionsTest {
  @Test
  void bf16WidensKnownBitPatterns() {
    byte[] bytes =
        RawSafetensors.le(
            (short) 0x3F80,
            (short) 0xC000,
            (short) 0x0000,
            (short) 0x8000,
            (short) 0x7F80,
            (short) 0xFF80,
            (short) 0x4049,
            (short) 0x0001);
    float[] out = DTypeConversions.toFloats(DType.BF16, bytes);
    assertEquals(1.0f, out[0]);
    assertEquals(-2.0f, out[1]);
    assertEquals(0x00000000, Float.floatToRawIntBits(out[2]));
    assertEquals(0x80000000, Float.floatToRawIntBits(out[3]));
    assertEquals(Float.POSITIVE_INFINITY, out[4]);
    assertEquals(Float.NEGATIVE_INFINITY, out[5]);
    assertEquals(3.140625f, out[6]);
    assertEquals(Float.intBitsToFloat(0x00010000), out[7]);
  }

  @Test
  void bf16NarrowingRoundsToNearestEven() {
    // 0x3F808000 is exactly halfway between 0x3F80 and 0x3F81: ties to the even 0x3F80
    assertEquals((short) 0x3F80, DTypeConversions.toBf16Bits(Float.intBitsToFloat(0x3F808000)));
    // 0x3F818000 is halfway between 0x3F81 and 0x3F82: ties to the even 0x3F82
    assertEquals((short) 0x3F82, DTypeConversions.toBf16Bits(Float.intBitsToFloat(0x3F818000)));
    assertEquals((short) 0x3F81, DTypeConversions.toBf16Bits(Float.intBitsToFloat(0x3F808001)));
    assertTrue(Float.isNaN(Float.intBitsToFloat(DTypeConversions.toBf16Bits(Float.NaN) << 16)));
  }

  @Test
  void bf16RoundTripIsExactForAllBf16Values() {
    short[] all = new short[65536];
    for (int i = 0; i < all.length; i++) {
      all[i] = (short) i;
    }
    float[] widened = DTypeConversions.toFloats(DType.BF16, RawSafetensors.le(all));
    byte[] back = DTypeConversions.fromFloats(DType.BF16, widened);
    float[] again = DTypeConversions.toFloats(DType.BF16, back);
    for (int i = 0; i < all.length; i++) {
      if (!Float.isNaN(widened[i])) {
        assertEquals(
            Float.floatToRawIntBits(widened[i]), Float.floatToRawIntBits(again[i]), "bits " + i);
      }
    }
  }

  @Test
  void f16WidensKnownBitPatterns() {
    byte[] bytes =
        RawSafetensors.le(
            (short) 0x3C00,
            (short) 0xC000,
            (short) 0x7BFF,
            (short) 0x0001,
            (short) 0x7C00,
            (short) 0x3555);
    float[] out = DTypeConversions.toFloats(DType.F16, bytes);
    assertArrayEquals(
        new float[] {1f, -2f, 65504f, 0x1p-24f, Float.POSITIVE_INFINITY, 0.33325195f}, out);
    assertEquals((short) 0x3C00, DTypeConversions.floatToHalf(1f));
    assertEquals((short) 0x7C00, DTypeConversions.floatToHalf(70000f));
  }

  @Test
  void fp8WidensKnownBitPatterns() {
    float[] e4m3 =
        DTypeConversions.toFloats(
            DType.F8_E4M3, new byte[] {0x38, (byte) 0xB8, 0x7E, 0x01, 0x7F, 0x40});
    assertEquals(1f, e4m3[0]);
    assertEquals(-1f, e4m3[1]);
    assertEquals(448f, e4m3[2]);
    assertEquals(0x1p-9f, e4m3[3]);
    assertTrue(Float.isNaN(e4m3[4]));
    assertEquals(2f, e4m3[5]);
    float[] e5m2 =
        DTypeConversions.toFloats(DType.F8_E5M2, new byte[] {0x3C, 0x7B, 0x7C, (byte) 0xC0});
    assertArrayEquals(new float[] {1f, 57344f, Float.POSITIVE_INFINITY, -2f}, e5m2);
  }

  @Test
  void integersAndBoolWidenToTheirValues() {
    assertArrayEquals(
        new float[] {-3f, 1L << 40},
        DTypeConversions.toFloats(DType.I64, RawSafetensors.leLongs(-3, 1L << 40)));
    assertArrayEquals(
        new float[] {-7f, 123456f},
        DTypeConversions.toFloats(DType.I32, RawSafetensors.leInts(-7, 123456)));
    assertArrayEquals(
        new float[] {-2f, 300f},
        DTypeConversions.toFloats(DType.I16, RawSafetensors.le((short) -2, (short) 300)));
    assertArrayEquals(
        new float[] {-1f, 127f}, DTypeConversions.toFloats(DType.I8, new byte[] {-1, 127}));
    assertArrayEquals(
        new float[] {255f, 1f}, DTypeConversions.toFloats(DType.U8, new byte[] {-1, 1}));
    assertArrayEquals(
        new float[] {0f, 1f}, DTypeConversions.toFloats(DType.BOOL, new byte[] {0, 1}));
    assertArrayEquals(
        new float[] {1.5f, -0.25f},
        DTypeConversions.toFloats(DType.F64, RawSafetensors.leDoubles(1.5, -0.25)));
  }

  @Test
  void bufferConversionAdvancesAndFillsTheRequestedRegion() {
    Random r = new Random(7);
    float[] values = new float[40_000];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) r.nextGaussian();
    }
    byte[] bf16 = DTypeConversions.fromFloats(DType.BF16, values);
    ByteBuffer src = ByteBuffer.wrap(bf16);
    src.position(20);
    float[] dst = new float[values.length + 3];
    DTypeConversions.toFloats(DType.BF16, src, dst, 3, values.length - 10);
    assertEquals(bf16.length, src.position());
    for (int i = 0; i < values.length - 10; i++) {
      int expected = Float.floatToRawIntBits(values[i + 10]);
      int rounded = (expected + 0x7fff + ((expected >>> 16) & 1)) & 0xffff0000;
      assertEquals(rounded, Float.floatToRawIntBits(dst[i + 3]), "element " + i);
    }
  }

  /**
   * Every BF16 pattern (NaNs, infinities, subnormals, both zeros) in a buffer of the given kind.
   */
  private static ByteBuffer allBf16(int lead, int extra, boolean direct, boolean readOnly) {
    int n = 65536 + extra;
    ByteBuffer b =
        (direct ? ByteBuffer.allocateDirect(2 * (lead + n)) : ByteBuffer.allocate(2 * (lead + n)))
            .order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < lead + n; i++) {
      b.putShort((short) (i - lead));
    }
    b.position(2 * lead);
    return readOnly ? b.asReadOnlyBuffer() : b;
  }

  private static void assertWidensEveryBf16Pattern(HalfKernel kernel) {
    for (boolean direct : new boolean[] {false, true}) {
      for (boolean readOnly : new boolean[] {false, true}) {
        for (int extra = 0; extra < 9; extra += 3) {
          ByteBuffer src = allBf16(3, extra, direct, readOnly);
          int n = 65536 + extra;
          float[] dst = new float[n + 5];
          kernel.bf16(src.slice().order(ByteOrder.LITTLE_ENDIAN), dst, 5, n);
          for (int i = 0; i < n; i++) {
            int bits = i & 0xffff;
            assertEquals(
                Float.floatToRawIntBits(Float.intBitsToFloat(bits << 16)),
                Float.floatToRawIntBits(dst[5 + i]),
                kernel.description() + " direct=" + direct + " pattern " + bits);
          }
        }
      }
    }
  }

  @Test
  void bothHalfKernelsWidenEveryBitPatternExactlyOnEveryBufferKind() {
    assertWidensEveryBf16Pattern(new HalfKernel.Scalar());
    assertWidensEveryBf16Pattern(new VectorHalfKernel());
  }

  @Test
  void halfKernelsHandleEveryShortLengthAndOffset() {
    Random r = new Random(3);
    byte[] bytes = new byte[2 * 300];
    r.nextBytes(bytes);
    for (HalfKernel kernel : List.of(new HalfKernel.Scalar(), new VectorHalfKernel())) {
      for (int start = 0; start < 5; start++) {
        for (int count = 0; count <= 70; count++) {
          float[] dst = new float[count + 2];
          java.util.Arrays.fill(dst, 42f);
          kernel.bf16(
              ByteBuffer.wrap(bytes, 2 * start, 2 * count).slice().order(ByteOrder.LITTLE_ENDIAN),
              dst,
              1,
              count);
          assertEquals(42f, dst[0]);
          assertEquals(42f, dst[count + 1], "nothing written past the end");
          for (int i = 0; i < count; i++) {
            int bits = (bytes[2 * (start + i)] & 0xff) | (bytes[2 * (start + i) + 1] & 0xff) << 8;
            assertEquals(
                bits << 16,
                Float.floatToRawIntBits(dst[1 + i]),
                kernel.description() + " start " + start + " count " + count + " i " + i);
          }
          java.util.Arrays.fill(dst, 42f);
          kernel.f16(
              ByteBuffer.wrap(bytes, 2 * start, 2 * count).slice().order(ByteOrder.LITTLE_ENDIAN),
              dst,
              1,
              count);
          assertEquals(42f, dst[0]);
          assertEquals(42f, dst[count + 1], "F16: nothing written past the end");
          for (int i = 0; i < count; i++) {
            short bits =
                (short)
                    ((bytes[2 * (start + i)] & 0xff) | (bytes[2 * (start + i) + 1] & 0xff) << 8);
            assertEquals(
                Float.floatToRawIntBits(DTypeConversions.halfToFloat(bits)),
                Float.floatToRawIntBits(dst[1 + i]),
                "F16 " + kernel.description() + " start " + start + " count " + count + " i " + i);
          }
        }
      }
    }
  }

  @Test
  void theVectorKernelIsUsedWhereTheModuleIsPresentAndAWrongKernelIsRefused() {
    // surefire, the launcher and spark-submit all add jdk.incubator.vector
    assertTrue(
        DTypeConversions.halfKernel().startsWith("Vector API"), DTypeConversions.halfKernel());
    assertTrue(HalfKernel.agrees(new VectorHalfKernel(), new HalfKernel.Scalar()));
    HalfKernel dropsTheLowBit =
        new HalfKernel() {
          @Override
          public void f16(ByteBuffer in, float[] dst, int dstOffset, int count) {
            new HalfKernel.Scalar().f16(in, dst, dstOffset, count);
          }

          @Override
          public void bf16(ByteBuffer in, float[] dst, int dstOffset, int count) {
            new HalfKernel.Scalar().bf16(in, dst, dstOffset, count);
            dst[dstOffset + count - 1] =
                Float.intBitsToFloat(Float.floatToRawIntBits(dst[dstOffset + count - 1]) ^ 0x10000);
          }

          @Override
          public String description() {
            return "broken";
          }
        };
    assertFalse(HalfKernel.agrees(dropsTheLowBit, new HalfKernel.Scalar()));
  }

  @Test
  void f16WidensEveryBitPatternLikeTheReferenceFormula() {
    for (int kernel = 0; kernel < 3; kernel++) {
      assertF16(kernel, false, false);
      assertF16(kernel, true, true);
      assertF16(kernel, false, true);
    }
  }

  /** kernel 0: through toFloats; 1: scalar; 2: vector. */
  private static void assertF16(int kernel, boolean direct, boolean readOnly) {
    {
      ByteBuffer src = allBf16(1, 3 + kernel, direct, readOnly);
      float[] dst = new float[65536 + 3 + kernel];
      switch (kernel) {
        case 0 -> DTypeConversions.toFloats(DType.F16, src, dst, 0, dst.length);
        case 1 ->
            new HalfKernel.Scalar()
                .f16(src.slice().order(ByteOrder.LITTLE_ENDIAN), dst, 0, dst.length);
        default ->
            new VectorHalfKernel()
                .f16(src.slice().order(ByteOrder.LITTLE_ENDIAN), dst, 0, dst.length);
      }
      for (int i = 0; i < dst.length; i++) {
        int h = i & 0xffff;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        double sign = (h & 0x8000) != 0 ? -1 : 1;
        if (exp == 0x1f && mant != 0) {
          // NaN keeps its payload, as halfToFloat does
          assertEquals(
              (h & 0x8000) << 16 | 0x7f800000 | mant << 13,
              Float.floatToRawIntBits(dst[i]),
              "NaN pattern " + h);
          continue;
        }
        double want =
            exp == 0x1f
                ? sign * Double.POSITIVE_INFINITY
                : exp == 0
                    ? sign * mant * Math.pow(2, -24)
                    : sign * (1 + mant / 1024.0) * Math.pow(2, exp - 15);
        assertEquals(
            Float.floatToRawIntBits((float) want),
            Float.floatToRawIntBits(dst[i]),
            "kernel " + kernel + " pattern " + Integer.toHexString(h) + " direct=" + direct);
      }
    }
  }
}
