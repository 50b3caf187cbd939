package dev.evomerge.worker.io;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Builds safetensors bytes by hand, independently of {@link SafetensorsWriter}. */
final class RawSafetensors {
  private final List<String> entries = new ArrayList<>();
  private final ByteArrayOutputStream data = new ByteArrayOutputStream();

  /** Appends a tensor whose bytes are given little-endian. */
  RawSafetensors add(String name, String dtype, long[] shape, byte[] bytes) {
    int begin = data.size();
    data.writeBytes(bytes);
    entries.add(
        String.format(
            "\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%d,%d]}",
            name, dtype, Arrays.toString(shape).replace(" ", ""), begin, data.size()));
    return this;
  }

  RawSafetensors addF32(String name, long[] shape, float... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      b.putFloat(v);
    }
    return add(name, "F32", shape, b.array());
  }

  String headerJson() {
    return "{\"__metadata__\":{\"format\":\"pt\"}," + String.join(",", entries) + "}";
  }

  byte[] bytes() {
    return assemble(headerJson(), data.toByteArray());
  }

  static byte[] assemble(String header, byte[] data) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(h.length).put(h).put(data);
    return b.array();
  }

  static byte[] le(short... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
    for (short s : v) {
      b.putShort(s);
    }
    return b.array();
  }

  static byte[] leLongs(long... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (long s : v) {
      b.putLong(s);
    }
    return b.array();
  }

  static byte[] leInts(int... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int s : v) {
      b.putInt(s);
    }
    return b.array();
  }

  static byte[] leDoubles(double... v) {
    ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    for (double s : v) {
      b.putDouble(s);
    }
    return b.array();
  }
}
