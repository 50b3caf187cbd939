package dev.evomerge.worker.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Conversions between little-endian stored floats and F32 on the heap. */
public final class DTypeConversions {
  private DTypeConversions() {}

  /** Widens little-endian {@code bytes} of a floating-point dtype to F32. */
  public static float[] toFloats(DType dtype, byte[] bytes) {
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int n = bytes.length / dtype.byteSize();
    float[] out = new float[n];
    switch (dtype) {
      case F32 -> buf.asFloatBuffer().get(out);
      case F64 -> {
        for (int i = 0; i < n; i++) {
          out[i] = (float) buf.getDouble(i * 8);
        }
      }
      case F16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = halfToFloat(buf.getShort(i * 2));
        }
      }
      case BF16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = Float.intBitsToFloat((buf.getShort(i * 2) & 0xffff) << 16);
        }
      }
      default -> throw new IllegalArgumentException("Not a floating-point dtype: " + dtype);
    }
    return out;
  }

  /** Narrows F32 values to little-endian bytes of {@code dtype} (BF16 rounds to nearest even). */
  public static byte[] fromFloats(DType dtype, float[] values) {
    ByteBuffer buf =
        ByteBuffer.allocate(values.length * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
    switch (dtype) {
      case F32 -> buf.asFloatBuffer().put(values);
      case F64 -> {
        for (float v : values) {
          buf.putDouble(v);
        }
      }
      case F16 -> {
        for (float v : values) {
          buf.putShort(floatToHalf(v));
        }
      }
      case BF16 -> {
        for (float v : values) {
          buf.putShort(toBf16Bits(v));
        }
      }
      default -> throw new IllegalArgumentException("Not a floating-point dtype: " + dtype);
    }
    return buf.array();
  }

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
