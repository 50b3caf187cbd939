package dev.evomerge.worker.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A safetensors file on any Hadoop filesystem: the header is read and checked on open, tensors are
 * read one at a time with positioned reads.
 *
 * <p>Layout: 8-byte little-endian header length N, N bytes of JSON header, then the data section.
 */
public final class SafetensorsFile {
  /** Headers larger than this are refused before anything is allocated. */
  static final long MAX_HEADER_BYTES = 100L << 20;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path path;
  private final Configuration conf;
  private final long dataStart;
  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;

  private SafetensorsFile(
      Path path,
      Configuration conf,
      long dataStart,
      Map<String, TensorInfo> tensors,
      Map<String, String> metadata) {
    this.path = path;
    this.conf = conf;
    this.dataStart = dataStart;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /** Opens {@code path} and validates its header against the file's length. */
  public static SafetensorsFile open(Path path, Configuration conf) {
    try {
      FileSystem fs = path.getFileSystem(conf);
      long fileLength = fs.getFileStatus(path).getLen();
      if (fileLength < 8) {
        throw new CheckpointException(String.format("Truncated safetensors file %s", path));
      }
      try (FSDataInputStream in = fs.open(path)) {
        byte[] lengthBytes = new byte[8];
        in.readFully(0, lengthBytes);
        long headerLength = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || headerLength > fileLength - 8) {
          throw new CheckpointException(
              String.format(
                  "Invalid header length %d in safetensors file %s of %d bytes",
                  headerLength, path, fileLength));
        }
        byte[] header = new byte[(int) headerLength];
        in.readFully(8, header);
        long dataStart = 8 + headerLength;
        return parseHeader(path, conf, header, dataStart, fileLength - dataStart);
      }
    } catch (IOException e) {
      throw new CheckpointException(String.format("Cannot read safetensors file %s", path), e);
    }
  }

  private static SafetensorsFile parseHeader(
      Path path, Configuration conf, byte[] header, long dataStart, long dataLength) {
    JsonNode root;
    try {
      root = JSON.readTree(new String(header, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new CheckpointException(String.format("Malformed JSON header in %s", path), e);
    }
    if (root == null || !root.isObject()) {
      throw new CheckpointException(String.format("Header of %s is not a JSON object", path));
    }
    Map<String, TensorInfo> tensors = new LinkedHashMap<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      String name = field.getKey();
      JsonNode entry = field.getValue();
      if ("__metadata__".equals(name)) {
        entry.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
        continue;
      }
      tensors.put(name, parseEntry(path, name, entry, dataLength));
    }
    return new SafetensorsFile(
        path,
        conf,
        dataStart,
        Collections.unmodifiableMap(tensors),
        Collections.unmodifiableMap(metadata));
  }

  private static TensorInfo parseEntry(Path path, String name, JsonNode entry, long dataLength) {
    JsonNode dtypeNode = entry.get("dtype");
    JsonNode shapeNode = entry.get("shape");
    JsonNode offsets = entry.get("data_offsets");
    if (dtypeNode == null
        || shapeNode == null
        || !shapeNode.isArray()
        || offsets == null
        || !offsets.isArray()
        || offsets.size() != 2) {
      throw new CheckpointException(
          String.format("Invalid header entry for tensor %s in %s", name, path));
    }
    DType dtype = DType.parse(dtypeNode.asText(), path + " (tensor " + name + ")");
    long[] shape = new long[shapeNode.size()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = shapeNode.get(i).asLong(-1);
      if (shape[i] < 0) {
        throw new CheckpointException(
            String.format("Invalid shape for tensor %s in %s: %s", name, path, shapeNode));
      }
    }
    long begin = offsets.get(0).asLong(-1);
    long end = offsets.get(1).asLong(-1);
    TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
    if (begin < 0 || end < begin || end > dataLength) {
      throw new CheckpointException(
          String.format(
              "Offsets [%d, %d) of tensor %s out of bounds in %s (data section is %d bytes)",
              begin, end, name, path, dataLength));
    }
    if (info.numel() * dtype.byteSize() != end - begin) {
      throw new CheckpointException(
          String.format(
              "Tensor %s in %s has %d bytes but its shape and dtype need %d",
              name, path, end - begin, info.numel() * dtype.byteSize()));
    }
    return info;
  }

  public Path path() {
    return path;
  }

  /** Tensor entries in header order. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  /** Reads one tensor and widens it to F32. */
  public FloatTensor readFloat(String name) {
    TensorInfo info = tensors.get(name);
    if (info == null) {
      throw new CheckpointException(String.format("No tensor %s in %s", name, path));
    }
    if (!info.dtype().isFloatingPoint()) {
      throw new CheckpointException(
          String.format(
              "Tensor %s in %s has dtype %s, not a float type", name, path, info.dtype()));
    }
    if (info.byteSize() > Integer.MAX_VALUE - 8) {
      throw new CheckpointException(
          String.format("Tensor %s in %s is too large for this reader", name, path));
    }
    byte[] bytes = new byte[(int) info.byteSize()];
    try (FSDataInputStream in = path.getFileSystem(conf).open(path)) {
      in.readFully(dataStart + info.begin(), bytes);
    } catch (IOException e) {
      throw new CheckpointException(String.format("Cannot read tensor %s from %s", name, path), e);
    }
    return new FloatTensor(info.shape(), DTypeConversions.toFloats(info.dtype(), bytes));
  }
}
