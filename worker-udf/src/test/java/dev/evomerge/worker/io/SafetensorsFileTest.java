package dev.evomerge.worker.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
  @TempDir java.nio.file.Path dir;

  private Path write(String name, byte[] bytes) throws Exception {
    java.nio.file.Path p = dir.resolve(name);
    Files.write(p, bytes);
    return new Path(p.toUri());
  }

  @Test
  void readsEveryDtypeFromAHandBuiltFile() throws Exception {
    byte[] bytes =
        new RawSafetensors()
            .add("f64", "F64", new long[] {2}, RawSafetensors.leDoubles(0.5, -8))
            .addF32("f32", new long[] {2, 2}, 1, 2, 3, 4)
            .add("f16", "F16", new long[] {1}, RawSafetensors.le((short) 0x3C00))
            .add("bf16", "BF16", new long[] {2}, RawSafetensors.le((short) 0x4040, (short) 0xBF80))
            .add("e4m3", "F8_E4M3", new long[] {1}, new byte[] {0x38})
            .add("e5m2", "F8_E5M2", new long[] {1}, new byte[] {0x40})
            .add("i64", "I64", new long[] {1}, RawSafetensors.leLongs(-5))
            .add("i32", "I32", new long[] {1}, RawSafetensors.leInts(70000))
            .add("i16", "I16", new long[] {1}, RawSafetensors.le((short) -300))
            .add("i8", "I8", new long[] {1}, new byte[] {-4})
            .add("u8", "U8", new long[] {1}, new byte[] {(byte) 200})
            .add("bool", "BOOL", new long[] {2}, new byte[] {1, 0})
            .add("scalar", "F32", new long[] {}, RawSafetensors.leInts(Float.floatToIntBits(9f)))
            .add("empty", "F32", new long[] {0, 3}, new byte[0])
            .bytes();
    SafetensorsFile f = SafetensorsFile.open(write("all.safetensors", bytes), new Configuration());
    assertEquals(14, f.tensors().size());
    assertEquals("pt", f.metadata().get("format"));
    assertArrayEquals(new float[] {0.5f, -8f}, f.readFloat("f64").data());
    assertArrayEquals(new float[] {1, 2, 3, 4}, f.readFloat("f32").data());
    assertArrayEquals(new long[] {2, 2}, f.readFloat("f32").shape());
    assertArrayEquals(new float[] {1f}, f.readFloat("f16").data());
    assertArrayEquals(new float[] {3f, -1f}, f.readFloat("bf16").data());
    assertArrayEquals(new float[] {1f}, f.readFloat("e4m3").data());
    assertArrayEquals(new float[] {2f}, f.readFloat("e5m2").data());
    assertArrayEquals(new float[] {-5f}, f.readFloat("i64").data());
    assertArrayEquals(new float[] {70000f}, f.readFloat("i32").data());
    assertArrayEquals(new float[] {-300f}, f.readFloat("i16").data());
    assertArrayEquals(new float[] {-4f}, f.readFloat("i8").data());
    assertArrayEquals(new float[] {200f}, f.readFloat("u8").data());
    assertArrayEquals(new float[] {1f, 0f}, f.readFloat("bool").data());
    assertArrayEquals(new float[] {9f}, f.readFloat("scalar").data());
    assertEquals(0, f.readFloat("empty").data().length);
    ByteBuffer raw = ByteBuffer.allocate(8);
    f.readBytes("i64", 0, raw);
    assertEquals(-5L, raw.flip().order(ByteOrder.LITTLE_ENDIAN).getLong());
    CheckpointException e = assertThrows(CheckpointException.class, () -> f.readFloat("nope"));
    assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("all.safetensors"));
  }

  @Test
  void rangeBufferAndChunkReadsMatchTheWholeTensor() throws Exception {
    float[] values = new float[1_000_000];
    for (int i = 0; i < values.length; i++) {
      values[i] = i * 0.5f - 7;
    }
    byte[] bf16 = DTypeConversions.fromFloats(DType.BF16, values);
    byte[] bytes =
        new RawSafetensors()
            .addF32("small", new long[] {1}, 42)
            .add("big", "BF16", new long[] {values.length}, bf16)
            .bytes();
    Path p = write("big.safetensors", bytes);
    Configuration conf = new Configuration();
    SafetensorsFile mapped = SafetensorsFile.open(p, conf);
    FileSystem fs = p.getFileSystem(conf);
    // the same file through the remote code path (positioned reads through a Hadoop stream)
    SafetensorsFile remote =
        SafetensorsFile.open(p, new ByteSource.Remote(p, bytes.length, fs, fs.getFileStatus(p)));
    float[] whole = mapped.readFloat("big").data();
    assertArrayEquals(whole, remote.readFloat("big").data());
    assertArrayEquals(DTypeConversions.toFloats(DType.BF16, bf16), whole);

    float[] range = new float[1000];
    remote.readFloat("big", 500_000, range, 0, 1000);
    for (int i = 0; i < 1000; i++) {
      assertEquals(whole[500_000 + i], range[i]);
    }
    FloatBuffer direct = ByteBuffer.allocateDirect(4 * 2000).asFloatBuffer();
    mapped.readFloat("big", 998_000, direct);
    assertEquals(0, direct.remaining());
    assertEquals(whole[998_000], direct.get(0));
    assertEquals(whole[999_999], direct.get(1999));

    List<Long> firsts = new ArrayList<>();
    float[] streamed = new float[values.length];
    mapped.forEachChunk(
        "big",
        300_000,
        (first, chunk, n) -> {
          firsts.add(first);
          System.arraycopy(chunk, 0, streamed, (int) first, n);
        });
    assertEquals(List.of(0L, 300_000L, 600_000L, 900_000L), firsts);
    assertArrayEquals(whole, streamed);
    assertThrows(
        IndexOutOfBoundsException.class, () -> mapped.readFloat("big", 999_999, range, 0, 2));
  }

  /**
   * A sparse 3.5 GiB file (nothing is written but a few bytes): one U8 tensor of 3 GiB and an F32
   * tensor of 2^27+ elements after it, so offsets pass 2^31 and reads cross map windows.
   */
  @Test
  void readsTensorsAndOffsetsBeyondTwoGiB() throws Exception {
    long big = 3L << 30;
    long f32Elements = (1L << 27) + 2;
    String header =
        String.format(
            "{\"u8\":{\"dtype\":\"U8\",\"shape\":[3,%d],\"data_offsets\":[0,%d]},"
                + "\"f32\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%d,%d]}}",
            big / 3, big, f32Elements, big, big + 4 * f32Elements);
    byte[] head = RawSafetensors.assemble(header, new byte[0]);
    java.nio.file.Path p = dir.resolve("sparse.safetensors");
    long dataStart = head.length;
    try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
      raf.write(head);
      raf.setLength(dataStart + big + 4 * f32Elements);
      raf.seek(dataStart + (1L << 31) + 5);
      raf.write(77);
      // straddles the 1 GiB map window boundary (file offset, not tensor offset)
      raf.seek((1L << 30) - 1);
      raf.write(new byte[] {11, 12});
      raf.seek(dataStart + big + 4 * (f32Elements - 1));
      raf.write(RawSafetensors.leInts(Float.floatToIntBits(-3.25f)));
    }
    Configuration conf = new Configuration();
    SafetensorsFile f = SafetensorsFile.open(new Path(p.toUri()), conf);
    assertEquals(big, f.info("u8").byteSize());
    float[] one = new float[3];
    f.readFloat("u8", (1L << 31) + 4, one, 0, 3);
    assertArrayEquals(new float[] {0, 77, 0}, one);
    long boundary = (1L << 30) - 1 - dataStart;
    f.readFloat("u8", boundary, one, 0, 2);
    assertArrayEquals(new float[] {11, 12}, new float[] {one[0], one[1]});
    ByteBuffer straddle = ByteBuffer.allocate(2);
    f.readBytes("u8", boundary, straddle);
    assertArrayEquals(new byte[] {11, 12}, straddle.array());
    f.readFloat("f32", f32Elements - 2, one, 0, 2);
    assertEquals(-3.25f, one[1]);
    CheckpointException e = assertThrows(CheckpointException.class, () -> f.readFloat("u8"));
    assertTrue(e.getMessage().contains("ranges"), e.getMessage());
    CheckpointException d = assertThrows(CheckpointException.class, () -> f.readFloatDirect("u8"));
    assertTrue(
        d.getMessage().contains("u8") && d.getMessage().contains("sparse.safetensors"),
        d.getMessage());
  }

  /**
   * A tensor read into a direct native-order buffer (what DJL wraps without a copy) has the values
   * readFloat gives, over several streaming chunks, mapped and through the remote code path.
   */
  @Test
  void directBufferReadsEqualArrayReads() throws Exception {
    java.util.Random r = new java.util.Random(23);
    float[] values = new float[(5 << 20) / 2 + 7];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) r.nextGaussian();
    }
    byte[] bytes =
        new RawSafetensors()
            .add(
                "bf16",
                "BF16",
                new long[] {values.length},
                DTypeConversions.fromFloats(DType.BF16, values))
            .add(
                "f16",
                "F16",
                new long[] {3, 5},
                DTypeConversions.fromFloats(DType.F16, java.util.Arrays.copyOf(values, 15)))
            .addF32("f32", new long[] {2, 2}, 1, -2, 3, 4.5f)
            .add("empty", "F32", new long[] {0}, new byte[0])
            .bytes();
    Path p = write("direct.safetensors", bytes);
    Configuration conf = new Configuration();
    FileSystem fs = p.getFileSystem(conf);
    for (SafetensorsFile f :
        List.of(
            SafetensorsFile.open(p, conf),
            SafetensorsFile.open(
                p, new ByteSource.Remote(p, bytes.length, fs, fs.getFileStatus(p))))) {
      for (String name : List.of("bf16", "f16", "f32", "empty")) {
        float[] want = f.readFloat(name).data();
        ByteBuffer got = f.readFloatDirect(name);
        assertTrue(got.isDirect(), name);
        assertEquals(ByteOrder.nativeOrder(), got.order(), name);
        assertEquals(0, got.position(), name);
        assertEquals(4 * want.length, got.remaining(), name);
        float[] back = new float[want.length];
        got.asFloatBuffer().get(back);
        assertArrayEquals(want, back, name);
      }
    }
  }

  @Test
  void refusesTruncatedFileNamingIt() throws Exception {
    byte[] bytes = new RawSafetensors().addF32("w", new long[] {4}, 1, 2, 3, 4).bytes();
    byte[] cut = java.util.Arrays.copyOf(bytes, bytes.length - 3);
    CheckpointException e =
        assertThrows(
            CheckpointException.class,
            () -> SafetensorsFile.open(write("cut.safetensors", cut), new Configuration()));
    assertTrue(
        e.getMessage().contains("cut.safetensors") && e.getMessage().contains("w"), e.getMessage());
  }

  @Test
  void fileShrinkingAfterOpenIsACheckpointExceptionNotACrashOrZeros() throws Exception {
    float[] values = new float[1 << 20];
    java.util.Arrays.fill(values, 1.5f);
    byte[] bytes =
        new RawSafetensors()
            .add(
                "w",
                "F32",
                new long[] {values.length},
                DTypeConversions.fromFloats(DType.F32, values))
            .bytes();
    // repeated so that an asynchronous fault escaping the reader would show up
    for (int round = 0; round < 8; round++) {
      String name = "shrinks-" + round + ".safetensors";
      Path p = write(name, bytes);
      SafetensorsFile f = SafetensorsFile.open(p, new Configuration());
      assertEquals(1.5f, f.readFloat("w").data()[values.length - 1]);
      try (RandomAccessFile raf = new RandomAccessFile(dir.resolve(name).toFile(), "rw")) {
        raf.setLength(100);
      }
      CheckpointException e = assertThrows(CheckpointException.class, () -> f.readFloat("w"));
      assertTrue(e.getMessage().contains(name), e.getMessage());
      ByteBuffer tail = ByteBuffer.allocate(16);
      assertThrows(
          CheckpointException.class, () -> f.readBytes("w", 4L * values.length - 16, tail));
      float[] some = new float[8];
      assertThrows(
          CheckpointException.class, () -> f.readFloat("w", values.length - 8, some, 0, 8));
    }
  }
}
