package dev.evomerge.worker.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes one safetensors file in the given dtype and map order, streaming each tensor in chunks so
 * that neither the file nor a tensor has to fit in one array.
 */
public final class SafetensorsWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Elements converted and written per step. */
  private static final int CHUNK_ELEMENTS = 1 << 20;

  private SafetensorsWriter() {}

  /** Writes heap tensors (the skeleton's entry point). */
  public static void write(
      Path path, Configuration conf, Map<String, FloatTensor> tensors, DType dtype) {
    Map<String, TensorSource> sources = new LinkedHashMap<>();
    tensors.forEach((k, v) -> sources.put(k, TensorSource.of(v)));
    try {
      FileSystem fs = path.getFileSystem(conf);
      fs.setWriteChecksum(false);
      write(fs, path, sources, dtype);
    } catch (IOException e) {
      throw new CheckpointException(String.format("Cannot write safetensors file %s", path), e);
    }
  }

  /** Writes {@code tensors} as {@code dtype}; returns the number of bytes written. */
  static long write(FileSystem fs, Path path, Map<String, TensorSource> tensors, DType dtype)
      throws IOException {
    if (!dtype.isFloatingPoint() || dtype == DType.F8_E4M3 || dtype == DType.F8_E5M2) {
      throw new IllegalArgumentException("Cannot write float tensors as " + dtype);
    }
    byte[] headerBytes = header(tensors, dtype);
    long total = 8 + headerBytes.length;
    try (FSDataOutputStream out = fs.create(path, true)) {
      out.write(
          ByteBuffer.allocate(8)
              .order(ByteOrder.LITTLE_ENDIAN)
              .putLong(headerBytes.length)
              .array());
      out.write(headerBytes);
      total += writeData(out, tensors, dtype);
    }
    return total;
  }

  static long dataBytes(TensorSource t, DType dtype) {
    return Math.multiplyExact(t.numel(), (long) dtype.byteSize());
  }

  static byte[] header(Map<String, TensorSource> tensors, DType dtype) {
    ObjectNode header = JSON.createObjectNode();
    header.putObject("__metadata__").put("format", "pt");
    long offset = 0;
    for (Map.Entry<String, TensorSource> e : tensors.entrySet()) {
      ObjectNode entry = header.putObject(e.getKey());
      entry.put("dtype", dtype.name());
      ArrayNode shape = entry.putArray("shape");
      for (long d : e.getValue().shape()) {
        shape.add(d);
      }
      long bytes = dataBytes(e.getValue(), dtype);
      entry.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    return paddedHeader(header.toString());
  }

  private static long writeData(OutputStream out, Map<String, TensorSource> tensors, DType dtype)
      throws IOException {
    float[] values = new float[CHUNK_ELEMENTS];
    ByteBuffer bytes = ByteBuffer.allocate(CHUNK_ELEMENTS * dtype.byteSize());
    long written = 0;
    for (TensorSource t : tensors.values()) {
      long numel = t.numel();
      for (long at = 0; at < numel; ) {
        int n = (int) Math.min(CHUNK_ELEMENTS, numel - at);
        t.read(at, values, 0, n);
        bytes.clear();
        DTypeConversions.fromFloats(dtype, values, 0, n, bytes);
        out.write(bytes.array(), 0, bytes.position());
        written += bytes.position();
        at += n;
      }
    }
    return written;
  }

  /** Pads the header with spaces to a multiple of 8 bytes so the data section is aligned. */
  private static byte[] paddedHeader(String json) {
    byte[] raw = json.getBytes(StandardCharsets.UTF_8);
    int padded = (raw.length + 7) / 8 * 8;
    byte[] out = new byte[padded];
    System.arraycopy(raw, 0, out, 0, raw.length);
    for (int i = raw.length; i < padded; i++) {
      out[i] = ' ';
    }
    return out;
  }
}
