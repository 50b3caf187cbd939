package dev.evomerge.worker.io.bench;

import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.DTypeConversions;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.HfModelWriter;
import dev.evomerge.worker.io.SafetensorsFile;
import dev.evomerge.worker.io.TensorInfo;
import dev.evomerge.worker.io.TensorSource;
import dev.evomerge.worker.io.WriteOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Checkpoint I/O benchmark, one run:
 *
 * <ol>
 *   <li>reading every tensor of a sharded BF16 checkpoint through {@link HfModelFolder} (raw bytes)
 *       vs a plain sequential read of the same files (both from the page cache after a warm-up
 *       pass, so this measures the reader's overhead, not the disk);
 *   <li>the same read widened to F32 (what a merge does), into one large array and chunk by chunk
 *       into a cache-sized one ({@link SafetensorsFile#forEachChunk}, where a streaming consumer
 *       reads);
 *   <li>BF16 (and F16) to F32 conversion vs two memory copies in the same run: one of the same
 *       input bytes, one of an F32 array the size of the output, with the bound memory traffic or
 *       store throughput puts on each ratio (see {@link #conversion}).
 * </ol>
 *
 * <p>{@code -Devomerge.io.vector=false} measures the scalar BF16/F16 kernel instead of the Vector
 * API one.
 *
 * <p>Usage: {@code IoBenchmark [--dir DIR] [--size-gb 1] [--shard-mb 512] [--rounds 3]}; the
 * checkpoint is generated in DIR once and reused.
 */
public final class IoBenchmark {
  private static final int BUF = 8 << 20;

  private IoBenchmark() {}

  public static void main(String[] args) throws Exception {
    java.nio.file.Path dir =
        java.nio.file.Path.of(System.getProperty("java.io.tmpdir"), "evomerge-bench");
    double sizeGb = 1;
    long shardMb = 512;
    int rounds = 3;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--dir" -> dir = java.nio.file.Path.of(args[++i]);
        case "--size-gb" -> sizeGb = Double.parseDouble(args[++i]);
        case "--shard-mb" -> shardMb = Long.parseLong(args[++i]);
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        default -> {
          System.err.println(
              "usage: IoBenchmark [--dir DIR] [--size-gb 1] [--shard-mb 512] [--rounds 3]");
          System.exit(2);
        }
      }
    }
    Configuration conf = new Configuration();
    long bytes = (long) (sizeGb * (1L << 30));
    java.nio.file.Path model =
        dir.resolve(String.format(Locale.ROOT, "bf16-%.2fgb-%dmb", sizeGb, shardMb));
    if (!Files.exists(model)) {
      Files.createDirectories(dir);
      long t0 = System.nanoTime();
      generate(model, conf, bytes, shardMb << 20);
      System.out.printf(
          Locale.ROOT, "generated %s in %.1f s%n", model, (System.nanoTime() - t0) / 1e9);
    }
    HfModelFolder folder = HfModelFolder.open(model.toString(), conf);
    long total = folder.tensorBytes();
    System.out.printf(
        Locale.ROOT,
        "checkpoint: %d tensors, %.2f GiB in %d shards%n",
        folder.tensors().size(),
        total / (double) (1L << 30),
        folder.shards().size());

    List<java.nio.file.Path> files = new ArrayList<>();
    for (SafetensorsFile f : folder.shards()) {
      files.add(java.nio.file.Path.of(f.path().toUri()));
    }
    plainRead(files); // warm the page cache
    double plain = 0;
    double reader = 0;
    double widened = 0;
    double streamed = 0;
    double viaArray = 0;
    double direct = 0;
    long largest = folder.tensors().values().stream().mapToLong(TensorInfo::numel).max().orElse(1);
    float[] heap = new float[(int) largest];
    FloatBuffer native32 =
        ByteBuffer.allocateDirect((int) largest * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    for (int r = 0; r < rounds; r++) {
      plain = Math.max(plain, plainRead(files));
      reader = Math.max(reader, readerRaw(folder));
      widened = Math.max(widened, readerF32(folder));
      streamed = Math.max(streamed, readerF32Chunks(folder));
      viaArray = Math.max(viaArray, toDirect(folder, heap, native32));
      direct = Math.max(direct, toDirect(folder, null, native32));
    }
    System.out.printf(Locale.ROOT, "plain sequential read       %6.2f GB/s%n", plain);
    System.out.printf(
        Locale.ROOT,
        "HfModelFolder raw read      %6.2f GB/s  (%.2fx plain)%n",
        reader,
        reader / plain);
    System.out.printf(
        Locale.ROOT,
        "HfModelFolder read -> F32   %6.2f GB/s of BF16 read  (%.2fx plain; 16 MiB F32 chunks)%n",
        widened,
        widened / plain);
    System.out.printf(
        Locale.ROOT,
        "forEachChunk -> F32         %6.2f GB/s of BF16 read  (%.2fx plain; %d KiB F32 chunks,"
            + " in L3)%n",
        streamed,
        streamed / plain,
        CACHE_CHUNK >> 8);

    System.out.printf(
        Locale.ROOT,
        "whole tensors -> direct F32 buffer (what DJL wraps): readFloat into a float[], then"
            + " copied in (NDManager.create(float[])) %6.2f GB/s of BF16 | widened straight into"
            + " the buffer (readFloatDirect) %6.2f GB/s: %.2fx (buffers allocated once; the float[]"
            + " path also allocates and zeroes its array each time)%n",
        viaArray,
        direct,
        direct / viaArray);
    System.out.println("BF16/F16 kernel: " + DTypeConversions.halfKernel());
    warmUp();
    // 128 MiB of BF16 (memory-bound) and 512 KiB that stays in cache (the reader converts chunk by
    // chunk, but into the caller's array)
    for (int n : new int[] {64 << 20, 256 << 10}) {
      conversion(DType.BF16, n, false, rounds);
      conversion(DType.BF16, n, true, rounds);
      conversion(DType.F16, n, false, rounds);
    }
    System.out.println(
        "bounds: 128 MiB is memory-bound: the conversion moves 2n bytes in + 4n out (+4n"
            + " write-allocate reads of the output), the input copy 2n + 2n (+2n), so x input copy"
            + " <= 0.67 (0.60 with write-allocate), x output copy <= 1.33 (1.20). 512 KiB stays in"
            + " cache, where both are limited by the bytes they store (the conversion stores twice"
            + " the input copy's): about 0.5x input copy, 1x output copy. streamed: the 128 MiB"
            + " converted chunk by chunk into one 4 MiB F32 buffer that stays in L3 (what"
            + " forEachChunk hands a consumer): only the 2n input bytes cross memory, so it can"
            + " pass the input copy, up to the in-cache conversion rate.");
  }

  /**
   * F32 elements of a streaming chunk (4 MiB, the reader's own step): stays in L3, so the output
   * does not go to memory.
   */
  private static final int CACHE_CHUNK = 1 << 20;

  /**
   * Converts {@code n} elements of {@code dtype} to F32 next to two copies in the same run and
   * rounds (interleaved, best of each): a copy of the same {@code 2n} input bytes, and a copy of an
   * F32 array the size of the output ({@code 4n} bytes). All rates count input bytes: the stored
   * bytes converted, or the bytes copied, per second. Ratios are times: copy time over conversion
   * time for the same input (input-sized copy) or the same output (output-sized copy). "Streamed"
   * converts the same input chunk by chunk into one {@link #CACHE_CHUNK}-element buffer, as a
   * consumer of {@link SafetensorsFile#forEachChunk} receives it.
   */
  private static void conversion(DType dtype, int n, boolean direct, int rounds) {
    int reps = Math.max(1, (64 << 20) / n);
    byte[] stored = new byte[2 * n];
    for (int i = 0; i < stored.length; i++) {
      stored[i] = (byte) (i * 31);
    }
    ByteBuffer src = ByteBuffer.wrap(stored);
    if (direct) {
      src = ByteBuffer.allocateDirect(stored.length).put(stored).flip();
    }
    float[] out = new float[n];
    byte[] copy = new byte[stored.length];
    float[] floats = new float[n];
    float[] floatsCopy = new float[n];
    double copyIn = 0;
    double copyOut = 0;
    double conv = 0;
    double streamed = 0;
    float[] chunk = new float[Math.min(n, CACHE_CHUNK)];
    for (int r = 0; r < rounds + 3; r++) {
      long t0 = System.nanoTime();
      for (int k = 0; k < reps; k++) {
        System.arraycopy(stored, 0, copy, 0, stored.length);
      }
      copyIn = Math.max(copyIn, rate(reps * (long) stored.length, t0));
      t0 = System.nanoTime();
      for (int k = 0; k < reps; k++) {
        System.arraycopy(floats, 0, floatsCopy, 0, n);
      }
      copyOut = Math.max(copyOut, rate(reps * 4L * n, t0));
      t0 = System.nanoTime();
      for (int k = 0; k < reps; k++) {
        DTypeConversions.toFloats(dtype, src.duplicate(), out, 0, n);
      }
      conv = Math.max(conv, rate(reps * (long) stored.length, t0));
      t0 = System.nanoTime();
      for (int k = 0; k < reps; k++) {
        ByteBuffer in = src.duplicate();
        for (int at = 0; at < n; at += chunk.length) {
          DTypeConversions.toFloats(dtype, in, chunk, 0, Math.min(chunk.length, n - at));
        }
      }
      streamed = Math.max(streamed, rate(reps * (long) stored.length, t0));
    }
    String what =
        String.format(
            Locale.ROOT,
            "%s -> F32, %s %s",
            dtype,
            n >= (64 << 20) ? "128 MiB" : "512 KiB",
            direct ? "direct buffer" : "heap array");
    System.out.printf(
        Locale.ROOT,
        "%-37s %6.2f GB/s in (%.2f out) | copy of the %d input bytes %6.2f GB/s: %.2fx"
            + " | copy of a %d-byte F32 array %6.2f GB/s: %.2fx (bound %s)"
            + " | streamed %6.2f GB/s in: %.2fx input copy%n",
        what,
        conv,
        2 * conv,
        stored.length,
        copyIn,
        conv / copyIn,
        4L * n,
        copyOut,
        2 * conv / copyOut,
        n >= (64 << 20) ? "0.60-0.67x input, 1.20-1.33x output" : "0.50x input, 1.00x output",
        streamed,
        streamed / copyIn);
    if (out[n / 2] == 42 && copy[1] == 7 && floatsCopy[3] == 1 && chunk[0] == 3) {
      System.out.println(); // keep the results alive
    }
  }

  /** Compiles every conversion loop (heap and direct, both dtypes) before anything is timed. */
  private static void warmUp() {
    int n = 64 << 10;
    ByteBuffer heap = ByteBuffer.allocate(2 * n);
    ByteBuffer direct = ByteBuffer.allocateDirect(2 * n);
    float[] out = new float[n];
    for (int k = 0; k < 3000; k++) {
      for (DType dtype : new DType[] {DType.BF16, DType.F16}) {
        DTypeConversions.toFloats(dtype, heap.duplicate(), out, 0, n);
        DTypeConversions.toFloats(dtype, direct.duplicate(), out, 0, n);
      }
    }
  }

  private static double rate(long bytes, long t0) {
    return bytes / ((System.nanoTime() - t0) / 1e9) / 1e9;
  }

  private static void generate(
      java.nio.file.Path model, Configuration conf, long bytes, long shard) {
    long perTensor = 32L << 20; // elements, 64 MiB of BF16
    Map<String, TensorSource> tensors = new LinkedHashMap<>();
    long elements = bytes / 2;
    for (int i = 0; elements > 0; i++) {
      long n = Math.min(perTensor, elements);
      elements -= n;
      long[] shape = {n / 4096, 4096};
      if (n % 4096 != 0) {
        shape = new long[] {n};
      }
      long[] s = shape;
      int seed = i;
      tensors.put(
          "model.layers." + i + ".mlp.weight",
          new TensorSource() {
            @Override
            public long[] shape() {
              return s;
            }

            @Override
            public void read(long first, float[] dst, int offset, int count) {
              for (int k = 0; k < count; k++) {
                dst[offset + k] = ((first + k) * 2654435761L % 1000 - 500) * 1e-3f + seed;
              }
            }
          });
    }
    HfModelWriter.write(
        new Path(model.toUri()),
        conf,
        new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode(),
        tensors,
        new WriteOptions(DType.BF16, shard),
        List.of());
  }

  /** GB/s reading whole files sequentially into a direct buffer. */
  private static double plainRead(List<java.nio.file.Path> files) throws IOException {
    ByteBuffer buf = ByteBuffer.allocateDirect(BUF);
    long total = 0;
    long t0 = System.nanoTime();
    for (java.nio.file.Path f : files) {
      try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
        int r;
        while ((r = ch.read(buf.clear())) > 0) {
          total += r;
        }
      }
    }
    return total / ((System.nanoTime() - t0) / 1e9) / 1e9;
  }

  /** GB/s reading every tensor's bytes through the reader into a direct buffer. */
  private static double readerRaw(HfModelFolder folder) {
    ByteBuffer buf = ByteBuffer.allocateDirect(BUF);
    long total = 0;
    long t0 = System.nanoTime();
    for (TensorInfo t : folder.tensors().values()) {
      SafetensorsFile f = folder.shardOf(t.name());
      for (long at = 0; at < t.byteSize(); ) {
        int n = (int) Math.min(BUF, t.byteSize() - at);
        f.readBytes(t.name(), at, buf.clear().limit(n));
        at += n;
        total += n;
      }
    }
    return total / ((System.nanoTime() - t0) / 1e9) / 1e9;
  }

  /**
   * GB/s (of stored bytes) streaming every tensor widened to F32 through a cache-sized chunk, as a
   * consumer of {@link SafetensorsFile#forEachChunk} sees it.
   */
  private static double readerF32Chunks(HfModelFolder folder) {
    long[] total = {0};
    float[] sink = {0};
    long t0 = System.nanoTime();
    for (TensorInfo t : folder.tensors().values()) {
      folder
          .shardOf(t.name())
          .forEachChunk(
              t.name(),
              CACHE_CHUNK,
              (first, values, n) -> {
                sink[0] += values[n - 1];
                total[0] += (long) n * t.dtype().byteSize();
              });
    }
    if (sink[0] == 42) {
      System.out.println(); // keep the result alive
    }
    return total[0] / ((System.nanoTime() - t0) / 1e9) / 1e9;
  }

  /**
   * GB/s (of stored bytes) reading every tensor widened to F32 into a direct buffer: through {@code
   * heap} and a bulk copy when it is given (what {@code NDManager.create(float[])} does with {@link
   * SafetensorsFile#readFloat(String)}'s array), else straight in ({@link
   * SafetensorsFile#readFloatDirect}).
   */
  private static double toDirect(HfModelFolder folder, float[] heap, FloatBuffer out) {
    long total = 0;
    long t0 = System.nanoTime();
    for (TensorInfo t : folder.tensors().values()) {
      SafetensorsFile f = folder.shardOf(t.name());
      int n = (int) t.numel();
      out.clear().limit(n);
      if (heap != null) {
        f.readFloat(t.name(), 0, heap, 0, n);
        out.put(heap, 0, n);
      } else {
        f.readFloat(t.name(), 0, out);
      }
      total += t.byteSize();
    }
    return total / ((System.nanoTime() - t0) / 1e9) / 1e9;
  }

  /** GB/s (of stored bytes) reading every tensor widened to F32 in chunks. */
  private static double readerF32(HfModelFolder folder) {
    float[] chunk = new float[BUF / 2];
    long total = 0;
    long t0 = System.nanoTime();
    for (TensorInfo t : folder.tensors().values()) {
      SafetensorsFile f = folder.shardOf(t.name());
      for (long at = 0; at < t.numel(); ) {
        int n = (int) Math.min(chunk.length, t.numel() - at);
        f.readFloat(t.name(), at, chunk, 0, n);
        at += n;
        total += (long) n * t.dtype().byteSize();
      }
    }
    return total / ((System.nanoTime() - t0) / 1e9) / 1e9;
  }
}
