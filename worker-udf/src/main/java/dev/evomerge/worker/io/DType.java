package dev.evomerge.worker.io;

/** Element types of the safetensors format, by their header names. */
public enum DType {
  F64(8),
  F32(4),
  F16(2),
  BF16(2),
  F8_E4M3(1),
  F8_E5M2(1),
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

  /** Whether this is a floating-point type (merged and scored after widening to F32). */
  public boolean isFloatingPoint() {
    return switch (this) {
      case F64, F32, F16, BF16, F8_E4M3, F8_E5M2 -> true;
      default -> false;
    };
  }

  /**
   * Parses a header dtype name exactly as the format spells it (case-sensitive, like the reference
   * implementation); {@code where} names the file and tensor for the error message.
   */
  public static DType parse(String name, String where) {
    for (DType t : values()) {
      if (t.name().equals(name)) {
        return t;
      }
    }
    throw new CheckpointException(String.format("Unknown dtype %s in %s", name, where));
  }
}
