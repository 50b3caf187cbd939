package dev.evomerge.worker.io;

import java.util.Locale;

/** Element types of the safetensors format, by their header names. */
public enum DType {
  F64(8),
  F32(4),
  F16(2),
  BF16(2),
  I64(8),
  I32(4),
  I16(2),
  I8(1),
  U8(1),
  BOOL(1);

  private final int byteSize;

  DType(int byteSize) {
    this.byteSize = byteSize;
  }

  public int byteSize() {
    return byteSize;
  }

  /** Whether values of this type can be widened to F32 for merging and scoring. */
  public boolean isFloatingPoint() {
    return this == F64 || this == F32 || this == F16 || this == BF16;
  }

  /** Parses a header dtype name; {@code where} names the file for the error message. */
  public static DType parse(String name, String where) {
    try {
      return valueOf(name.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new CheckpointException(String.format("Unknown dtype %s in %s", name, where));
    }
  }
}
