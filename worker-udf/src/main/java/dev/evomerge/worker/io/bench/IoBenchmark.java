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
 * Checkpoint I/O benchmark, one run, four figures:
 *
 * <ol>
 *   <li>reading every tensor of a sharded BF16 checkpoint through {@link HfModelFolder} (raw bytes)
 *       vs a plain sequential read of the same files (both from the page cache after a warm-up
 *       pass, so this measures the reader's overhead, not the disk);
 *   <li>the same read widened to F32 (what a merge does);
 *   <li>BF16 to F32 conversion vs a memory copy of the same number of input bytes.
 * </ol>
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
    for (int r = 0; r < rounds; r++) {
      plain = Math.max(plain, plainRead(files));
      reader = Math.max(reader, readerRaw(folder));
      widened = Math.max(widened, readerF32(folder));
    }
    System.out.printf(Locale.ROOT, "plain sequential read       %6.2f GB/s%n", plain);
    System.out.printf(
        Locale.ROOT,
        "HfModelFolder raw read      %6.2f GB/s  (%.2fx plain)%n",
        reader,
        reader / plain);
    System.out.printf(
        Locale.ROOT,
        "HfModelFolder read -> F32   %6.2f GB/s of BF16 read  (%.2fx plain)%n",
        widened,
        widened / plain);

    // large arrays (memory-bound: conversion moves 3 bytes per BF16 byte, a copy 2, so ~0.67x is
    // the ceiling) and 512 KiB chunks that stay in cache (the reader converts chunk by chunk)
    for (int chunkElements : new int[] {64 << 20, 256 << 10}) {
      int n = chunkElements;
      int reps = Math.max(1, (64 << 20) / n);
      byte[] bf16 = new byte[2 * n];
      for (int i = 0; i < bf16.length; i++) {
        bf16[i] = (byte) (i * 31);
      }
      float[] out = new float[n];
      byte[] copy = new byte[bf16.length];
      double conv = 0;
      double memcpy = 0;
      for (int r = 0; r < rounds + 2; r++) {
        long t0 = System.nanoTime();
        for (int k = 0; k < reps; k++) {
          System.arraycopy(bf16, 0, copy, 0, bf16.length);
        }
        memcpy =
            Math.max(memcpy, (double) reps * bf16.length / ((System.nanoTime() - t0) / 1e9) / 1e9);
        t0 = System.nanoTime();
        for (int k = 0; k < reps; k++) {
          DTypeConversions.toFloats(DType.BF16, ByteBuffer.wrap(bf16), out, 0, n);
        }
        conv = Math.max(conv, (double) reps * bf16.length / ((System.nanoTime() - t0) / 1e9) / 1e9);
      }
      String what = n >= (64 << 20) ? "128 MiB arrays" : "512 KiB chunks";
      System.out.printf(Locale.ROOT, "memory copy, %s       %6.2f GB/s%n", what, memcpy);
      System.out.printf(
          Locale.ROOT,
          "BF16 -> F32, %s       %6.2f GB/s of BF16 in, %.2f GB/s F32 out (%.2fx copy)%n",
          what,
          conv,
          2 * conv,
          conv / memcpy);
      if (out[n / 2] == 42 && copy[1] == 7) {
        System.out.println(); // keep the results alive
      }
    }
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
