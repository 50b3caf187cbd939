package dev.evomerge.worker.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;

/** Bad and hostile safetensors bytes give a CheckpointException naming the file, never a crash. */
class HostileSafetensorsTest {
  private static final Path P = new Path("file:/models/x/model.safetensors");

  private static SafetensorsFile open(byte[] bytes) {
    return SafetensorsFile.open(P, new ByteSource.InMemory(P, bytes));
  }

  private static String refused(byte[] bytes) {
    CheckpointException e = assertThrows(CheckpointException.class, () -> open(bytes));
    assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
    return e.getMessage();
  }

  private static String refusedHeader(String header, int dataBytes) {
    return refused(RawSafetensors.assemble(header, new byte[dataBytes]));
  }

  private static String entry(String name, String dtype, String shape, long b, long e) {
    return String.format(
        "\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%d,%d]}",
        name, dtype, shape, b, e);
  }

  @Test
  void refusesHeaderLengthBeyondCapOrFileWithoutAllocating() {
    byte[] huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array();
    assertTrue(refused(huge).contains("Invalid header length 1099511627776"));
    byte[] beyond = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(9).array();
    assertTrue(refused(beyond).contains("Invalid header length 9"));
    byte[] negative = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1).array();
    assertTrue(refused(negative).contains("Invalid header length -1"));
    assertTrue(refused(new byte[5]).contains("Truncated"));
  }

  @Test
  void refusesMalformedJsonAndNonObjects() {
    assertTrue(refusedHeader("{\"a\":", 0).contains("Malformed JSON"));
    assertTrue(refusedHeader("[1,2]   ", 0).contains("not start with"));
    assertTrue(refusedHeader("{} {}", 0).contains("Malformed JSON"));
    assertTrue(refusedHeader("{\"a\":3}", 0).contains("tensor a"));
    byte[] badUtf8 = RawSafetensors.assemble("{\"\u00e9\":1}", new byte[0]);
    badUtf8[10] = (byte) 0xff;
    assertTrue(refused(badUtf8).contains("UTF-8"));
    assertTrue(refusedHeader("{\"__metadata__\":[1]}", 0).contains("__metadata__"));
  }

  @Test
  void refusesUnknownDtypeNamingTensor() {
    String m = refusedHeader("{" + entry("w", "F128", "[1]", 0, 16) + "}", 16);
    assertTrue(m.contains("Unknown dtype F128") && m.contains("tensor w"), m);
    assertTrue(refusedHeader("{" + entry("w", "f32", "[1]", 0, 4) + "}", 4).contains("f32"));
  }

  @Test
  void refusesOffsetsOutOfBoundsOverlappingGapsAndWrongSize() {
    assertTrue(
        refusedHeader("{" + entry("w", "F32", "[2]", 0, 8) + "}", 4).contains("truncated file"));
    assertTrue(
        refusedHeader(
                "{" + entry("w", "F32", "[2]", 0, 8) + "," + entry("v", "F32", "[1]", 4, 8) + "}",
                8)
            .contains("overlaps"));
    assertTrue(
        refusedHeader("{" + entry("w", "F32", "[1]", 4, 8) + "}", 8).contains("Gap of 4 bytes"));
    assertTrue(refusedHeader("{" + entry("w", "F32", "[1]", 0, 4) + "}", 8).contains("trailing"));
    String m = refusedHeader("{" + entry("w", "F32", "[3]", 0, 8) + "}", 8);
    assertTrue(m.contains("Tensor w") && m.contains("need 12"), m);
    assertTrue(refusedHeader("{" + entry("w", "F32", "[1]", 8, 4) + "}", 8).contains("before"));
    assertTrue(refusedHeader("{" + entry("w", "F32", "[-1]", 0, 4) + "}", 4).contains("shape"));
    assertTrue(refusedHeader("{" + entry("w", "F32", "[1.5]", 0, 4) + "}", 4).contains("shape"));
    assertTrue(
        refusedHeader("{" + entry("w", "F32", "[4294967296,4294967296,4294967296]", 0, 4) + "}", 4)
            .contains("overflows"));
    assertTrue(
        refusedHeader("{" + entry("w", "F32", "[1]", 0, 99999999999999999L) + "}", 4)
            .contains("need 4"));
    assertTrue(
        refusedHeader(
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551615]}}",
                4)
            .contains("data_offsets"));
  }

  @Test
  void refusesDuplicateNamesAndUnexpectedFields() {
    String m =
        refusedHeader(
            "{" + entry("w", "F32", "[1]", 0, 4) + "," + entry("w", "F32", "[1]", 4, 8) + "}", 8);
    assertTrue(m.contains("Duplicate") || m.contains("duplicate"), m);
    assertTrue(
        refusedHeader("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4)
            .contains("Unexpected field x"));
  }

  @Test
  void acceptsPaddedHeaderAndEmptyFile() {
    SafetensorsFile f =
        open(RawSafetensors.assemble("{" + entry("w", "F32", "[1]", 0, 4) + "}    ", new byte[4]));
    assertEquals(1, f.tensors().size());
    assertEquals(0, open(RawSafetensors.assemble("{}", new byte[0])).tensors().size());
  }

  /**
   * Mutates valid files thousands of times (bit flips, byte overwrites, truncation, extension,
   * header length edits, header text edits) and reads every tensor of whatever still opens: each
   * failure must be a CheckpointException (a wrong-but-valid file may read, that is fine).
   */
  @Test
  void fuzzedFilesFailOnlyWithCheckpointException() {
    byte[] base =
        new RawSafetensors()
            .addF32("a", new long[] {2, 3}, 1, 2, 3, 4, 5, 6)
            .add(
                "b",
                "BF16",
                new long[] {4},
                RawSafetensors.le((short) 1, (short) 2, (short) 3, (short) 4))
            .add("c", "I64", new long[] {1}, RawSafetensors.leLongs(7))
            .add("d", "F8_E4M3", new long[] {2, 1}, new byte[] {1, 2})
            .add("e", "BOOL", new long[] {0}, new byte[0])
            .bytes();
    String header =
        new String(
            base,
            8,
            (int) ByteBuffer.wrap(base).order(ByteOrder.LITTLE_ENDIAN).getLong(),
            StandardCharsets.UTF_8);
    String[] tokens = {
      "\"",
      "{",
      "}",
      "[",
      "]",
      ",",
      ":",
      "-1",
      "1e309",
      "null",
      "999999999999",
      "F16",
      "\"a\"",
      " ",
      "0",
      "__metadata__",
      "\u00ff"
    };
    Random r = new Random(20261122);
    int opened = 0;
    int refused = 0;
    for (int i = 0; i < 20_000; i++) {
      byte[] m;
      switch (r.nextInt(7)) {
        case 0 -> {
          m = base.clone();
          int bit = r.nextInt(m.length * 8);
          m[bit / 8] ^= (byte) (1 << (bit % 8));
        }
        case 1 -> {
          m = base.clone();
          for (int k = 1 + r.nextInt(4); k > 0; k--) {
            m[r.nextInt(m.length)] = (byte) r.nextInt(256);
          }
        }
        case 2 -> m = Arrays.copyOf(base, r.nextInt(base.length));
        case 3 -> m = Arrays.copyOf(base, base.length + 1 + r.nextInt(16));
        case 4 -> {
          m = base.clone();
          long len =
              switch (r.nextInt(4)) {
                case 0 -> r.nextLong();
                case 1 -> r.nextInt(base.length + 10);
                case 2 -> header.length() + r.nextInt(9) - 4;
                default -> (long) r.nextInt(Integer.MAX_VALUE) << r.nextInt(32);
              };
          ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putLong(0, len);
        }
        case 5 -> {
          // replace a slice of the header text with a JSON-ish token, keeping the data
          StringBuilder h = new StringBuilder(header);
          int at = r.nextInt(h.length());
          int len = r.nextInt(Math.min(6, h.length() - at) + 1);
          h.replace(at, at + len, tokens[r.nextInt(tokens.length)]);
          m =
              RawSafetensors.assemble(
                  h.toString(), Arrays.copyOfRange(base, 8 + header.length(), base.length));
        }
        default -> {
          // tweak one number in the header
          String h = header;
          int digit = -1;
          for (int tries = 0; tries < 20 && digit < 0; tries++) {
            int at = r.nextInt(h.length());
            if (Character.isDigit(h.charAt(at))) {
              digit = at;
            }
          }
          if (digit >= 0) {
            h = h.substring(0, digit) + r.nextInt(20) + h.substring(digit + 1);
          }
          m =
              RawSafetensors.assemble(
                  h, Arrays.copyOfRange(base, 8 + header.length(), base.length));
        }
      }
      try {
        SafetensorsFile f = open(m);
        for (String name : f.tensors().keySet()) {
          f.readFloat(name);
        }
        opened++;
      } catch (CheckpointException e) {
        assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
        refused++;
      } catch (RuntimeException | Error e) {
        throw new AssertionError("Case " + i + " failed with " + e, e);
      }
    }
    assertEquals(20_000, opened + refused);
    assertTrue(refused > 10_000 && opened > 100, "opened " + opened + ", refused " + refused);
  }
}
