package dev.evomerge.worker.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Conversions between little-endian stored elements and F32. BF16 and F16 are widened here because
 * DJL 0.35.1 crashes the JVM on BF16 arrays. This is on the hot path: BF16 and F16 go through
 * {@link HalfKernel#best()} (the Vector API where the JVM has it), reading a vector or 64 bits at a
 * time straight from the mapped or read buffer into the destination.
 */
public final class DTypeConversions {
  private static final HalfKernel HALF = HalfKernel.best();

  private static final float[] E4M3 = new float[256];

  static {
    for (int b = 0; b < 256; b++) {
      E4M3[b] = e4m3ToFloat(b);
    }
  }

  private DTypeConversions() {}

  /** Widens little-endian {@code bytes} of any dtype to F32. */
  public static float[] toFloats(DType dtype, byte[] bytes) {
    int n = bytes.length / dtype.byteSize();
    float[] out = new float[n];
    toFloats(dtype, ByteBuffer.wrap(bytes), out, 0, n);
    return out;
  }

  /**
   * Widens {@code count} elements of {@code dtype} starting at {@code src}'s position (read as
   * little-endian) into {@code dst[dstOffset..]}; advances {@code src} past them.
   */
  public static void toFloats(DType dtype, ByteBuffer src, float[] dst, int dstOffset, int count) {
    ByteBuffer in = src.slice().order(ByteOrder.LITTLE_ENDIAN);
    long needed = (long) count * dtype.byteSize();
    if (needed > in.remaining()) {
      throw new IllegalArgumentException(
          String.format(
              "Need %d bytes for %d %s values, have %d", needed, count, dtype, in.remaining()));
    }
    switch (dtype) {
      case F32 -> in.asFloatBuffer().get(dst, dstOffset, count);
      case BF16 -> HALF.bf16(in, dst, dstOffset, count);
      case F16 -> HALF.f16(in, dst, dstOffset, count);
      case F64 -> {
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = (float) in.getDouble(i << 3);
        }
      }
      case F8_E4M3 -> {
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = E4M3[in.get(i) & 0xff];
        }
      }
      case F8_E5M2 -> {
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = halfToFloat((short) ((in.get(i) & 0xff) << 8));
        }
      }
      case I64 -> {
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = in.getLong(i << 3);
        }
      }
      case I32 -> {
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = in.getInt(i << 2);
        }
      }
      case I16 -> {
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = in.getShort(i << 1);
        }
      }
      case I8 -> {
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = in.get(i);
        }
      }
      case U8, BOOL -> {
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = in.get(i) & 0xff;
        }
      }
    }
    src.position(src.position() + (int) needed);
  }

  /**
   * What widens BF16 and F16 in this JVM (the Vector API kernel or the scalar one), for benchmarks.
   */
  public static String halfKernel() {
    return HALF.description();
  }

  /** Narrows F32 values to little-endian bytes of {@code dtype} (BF16 rounds to nearest even). */
  public static byte[] fromFloats(DType dtype, float[] values) {
    ByteBuffer buf =
        ByteBuffer.allocate(values.length * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    fromFloats(dtype, values, 0, values.length, buf);
    return buf.array();
  }

  /**
   * Narrows {@code values[offset..offset+count)} into {@code out} at its position, as little-endian
   * {@code dtype} (a floating-point type); advances {@code out}.
   */
  public static void fromFloats(
      DType dtype, float[] values, int offset, int count, ByteBuffer out) {
    ByteBuffer buf = out.slice().order(ByteOrder.LITTLE_ENDIAN);
    switch (dtype) {
      case F32 -> buf.asFloatBuffer().put(values, offset, count);
      case F64 -> {
        for (int i = 0; i < count; i++) {
          buf.putDouble(i << 3, values[offset + i]);
        }
      }
      case F16 -> {
        for (int i = 0; i < count; i++) {
          buf.putShort(i << 1, floatToHalf(values[offset + i]));
        }
      }
      case BF16 -> {
        for (int i = 0; i < count; i++) {
          buf.putShort(i << 1, toBf16Bits(values[offset + i]));
        }
      }
      default -> throw new IllegalArgumentException("Cannot write F32 values as " + dtype);
    }
    out.position(out.position() + count * dtype.byteSize());
  }

  /** F32 to BF16 bits, rounding to nearest even; NaN stays a (quiet) NaN. */
  static short toBf16Bits(float v) {
    int bits = Float.floatToRawIntBits(v);
    if (Float.isNaN(v)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    int rounding = 0x7fff + ((bits >>> 16) & 1);
    return (short) ((bits + rounding) >>> 16);
  }

  /** IEEE 754 binary16 to F32 (JDK 17 has no Float.float16ToFloat). */
  static float halfToFloat(short half) {
    return HalfKernel.halfToFloat(half);
  }

  /** OCP FP8 E4M3 ("fn": no infinities, S.1111.111 is NaN), bias 7. */
  static float e4m3ToFloat(int b) {
    int sign = b & 0x80;
    int exp = (b >>> 3) & 0xf;
    int mant = b & 0x7;
    float v;
    if (exp == 0xf && mant == 0x7) {
      v = Float.NaN;
    } else if (exp == 0) {
      v = mant * 0x1p-9f; // subnormal: mant/8 * 2^-6
    } else {
      v = (1 + mant / 8f) * (float) Math.pow(2, exp - 7);
    }
    return sign != 0 ? -v : v;
  }

  /** F32 to IEEE 754 binary16, rounding to nearest even. */
  static short floatToHalf(float v) {
    int bits = Float.floatToRawIntBits(v);
    int sign = (bits >>> 16) & 0x8000;
    int exp = (bits >>> 23) & 0xff;
    int mant = bits & 0x7fffff;
    if (exp == 0xff) {
      return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
    }
    int e = exp - 127 + 15;
    if (e >= 0x1f) {
      return (short) (sign | 0x7c00);
    }
    if (e <= 0) {
      if (e < -10) {
        return (short) sign;
      }
      mant |= 0x800000;
      int shift = 14 - e;
      int halfMant = mant >>> shift;
      int rem = mant & ((1 << shift) - 1);
      int halfway = 1 << (shift - 1);
      if (rem > halfway || (rem == halfway && (halfMant & 1) == 1)) {
        halfMant++;
      }
      return (short) (sign | halfMant);
    }
    int half = sign | (e << 10) | (mant >>> 13);
    int rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1) == 1)) {
      half++;
    }
    return (short) half;
  }
}
