package dev.evomerge.worker.io;

import com.google.common.base.Preconditions;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How {@link HfModelWriter} writes a model.
 *
 * @param dtype stored element type (F32, F16, BF16 or F64)
 * @param maxShardBytes a new shard is started before a tensor that would push the current one past
 *     this (a tensor larger than this gets a shard of its own), like Hugging Face's {@code
 *     max_shard_size}
 */
public record WriteOptions(DType dtype, long maxShardBytes) {
  /** Hugging Face's default {@code max_shard_size}. */
  public static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

  private static final Pattern SIZE =
      Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)?");

  public WriteOptions {
    Preconditions.checkArgument(
        dtype == DType.F32 || dtype == DType.F16 || dtype == DType.BF16 || dtype == DType.F64,
        "Cannot write a model as %s (use F32, F16, BF16 or F64)",
        dtype);
    Preconditions.checkArgument(
        maxShardBytes > 0, "Max shard size must be positive: %s", maxShardBytes);
  }

  public static WriteOptions of(DType dtype) {
    return new WriteOptions(dtype, DEFAULT_MAX_SHARD_BYTES);
  }

  /** Parses {@code --max-shard-size} values like {@code 5GB}, {@code 500MB}, {@code 2GiB}. */
  public static long parseSize(String text) {
    Matcher m = SIZE.matcher(text.trim().toUpperCase(Locale.ROOT));
    Preconditions.checkArgument(m.matches(), "Invalid size %s (e.g. 5GB, 500MB, 2GiB)", text);
    double n = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "B" : m.group(2);
    long mult =
        switch (unit) {
          case "KB" -> 1_000L;
          case "MB" -> 1_000_000L;
          case "GB" -> 1_000_000_000L;
          case "TB" -> 1_000_000_000_000L;
          case "KIB" -> 1L << 10;
          case "MIB" -> 1L << 20;
          case "GIB" -> 1L << 30;
          case "TIB" -> 1L << 40;
          default -> 1L;
        };
    return (long) (n * mult);
  }
}
