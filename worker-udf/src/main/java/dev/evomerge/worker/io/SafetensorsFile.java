package dev.evomerge.worker.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileRange;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A safetensors file on any Hadoop filesystem: the header is read and strictly checked on open
 * (only the header is read), tensors are then read one at a time, whole or in element ranges, from
 * a memory map (local files) or with positioned reads (remote files; several tensors at once with
 * one vectored read, {@link #readFloats}). Tensors and files larger than 2 GiB are supported
 * through the range and streaming methods.
 *
 * <p>Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON header, then the data
 * section, which the tensors' {@code data_offsets} must tile exactly (no gaps, no overlaps, no
 * trailing bytes), as the reference implementation requires.
 */
public final class SafetensorsFile {
  /** Headers larger than this are refused before anything is allocated (the reference cap). */
  static final long MAX_HEADER_BYTES = 100L << 20;

  /** Tensors with more dimensions than this are refused (no real model comes near it). */
  static final int MAX_RANK = 16;

  /** Elements converted per step when streaming a tensor (4 MiB of F32). */
  static final int STREAM_CHUNK_ELEMENTS = 1 << 20;

  static final ObjectMapper STRICT_JSON =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);

  private final Path path;
  private final ByteSource source;
  private final long dataStart;
  private final Map<String, TensorInfo> tensors;
  private final Map<String, String> metadata;

  private SafetensorsFile(
      Path path,
      ByteSource source,
      long dataStart,
      Map<String, TensorInfo> tensors,
      Map<String, String> metadata) {
    this.path = path;
    this.source = source;
    this.dataStart = dataStart;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /** Opens {@code path} and validates its header against the file's length. */
  public static SafetensorsFile open(Path path, Configuration conf) {
    try {
      FileSystem fs = path.getFileSystem(conf);
      FileStatus status;
      try {
        status = fs.getFileStatus(path);
      } catch (FileNotFoundException e) {
        throw new CheckpointException(String.format("Safetensors file %s does not exist", path), e);
      }
      return open(fs, status, conf);
    } catch (IOException e) {
      throw new CheckpointException(String.format("Cannot read safetensors file %s", path), e);
    }
  }

  /** Opens a file whose status is already known (a listing), saving a request on object stores. */
  public static SafetensorsFile open(FileSystem fs, FileStatus status, Configuration conf) {
    Path path = status.getPath();
    if (!status.isFile()) {
      throw new CheckpointException(String.format("%s is not a file", path));
    }
    return open(path, ByteSource.open(fs, status, conf));
  }

  static SafetensorsFile open(Path path, ByteSource source) {
    long fileLength = source.length;
    try {
      if (fileLength < 8) {
        throw new CheckpointException(
            String.format(
                "Truncated safetensors file %s: %d bytes, too short for a header length",
                path, fileLength));
      }
      ByteBuffer lengthBytes = ByteBuffer.allocate(8);
      source.read(0, lengthBytes);
      long headerLength = lengthBytes.flip().order(ByteOrder.LITTLE_ENDIAN).getLong();
      if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > fileLength - 8) {
        throw new CheckpointException(
            String.format(
                "Invalid header length %d in safetensors file %s of %d bytes (at most %d, and"
                    + " within the file)",
                headerLength, path, fileLength, MAX_HEADER_BYTES));
      }
      ByteBuffer header = ByteBuffer.allocate((int) headerLength);
      source.read(8, header);
      long dataStart = 8 + headerLength;
      return parseHeader(path, source, header.flip(), dataStart, fileLength - dataStart);
    } catch (IOException e) {
      throw new CheckpointException(String.format("Cannot read safetensors file %s", path), e);
    }
  }

  private static SafetensorsFile parseHeader(
      Path path, ByteSource source, ByteBuffer header, long dataStart, long dataLength) {
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(header)
              .toString();
    } catch (CharacterCodingException e) {
      throw new CheckpointException(String.format("Header of %s is not valid UTF-8", path), e);
    }
    if (!text.startsWith("{")) {
      throw new CheckpointException(
          String.format("Header of %s does not start with '{': not a safetensors file", path));
    }
    JsonNode root;
    try {
      root = STRICT_JSON.readTree(text);
    } catch (IOException e) {
      throw new CheckpointException(
          String.format("Malformed JSON header in %s: %s", path, firstLine(e.getMessage())), e);
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
        if (!entry.isObject()) {
          throw new CheckpointException(
              String.format("__metadata__ in %s is not a JSON object", path));
        }
        for (Iterator<Map.Entry<String, JsonNode>> m = entry.fields(); m.hasNext(); ) {
          Map.Entry<String, JsonNode> kv = m.next();
          if (!kv.getValue().isTextual()) {
            throw new CheckpointException(
                String.format("__metadata__ value %s in %s is not a string", kv.getKey(), path));
          }
          metadata.put(kv.getKey(), kv.getValue().asText());
        }
        continue;
      }
      if (name.isEmpty()) {
        throw new CheckpointException(String.format("Empty tensor name in %s", path));
      }
      tensors.put(name, parseEntry(path, name, entry));
    }
    checkTiling(path, tensors, dataLength);
    return new SafetensorsFile(
        path,
        source,
        dataStart,
        Collections.unmodifiableMap(tensors),
        Collections.unmodifiableMap(metadata));
  }

  private static TensorInfo parseEntry(Path path, String name, JsonNode entry) {
    if (!entry.isObject()) {
      throw new CheckpointException(
          String.format("Header entry for tensor %s in %s is not a JSON object", name, path));
    }
    for (Iterator<String> keys = entry.fieldNames(); keys.hasNext(); ) {
      String key = keys.next();
      if (!key.equals("dtype") && !key.equals("shape") && !key.equals("data_offsets")) {
        throw new CheckpointException(
            String.format("Unexpected field %s for tensor %s in %s", key, name, path));
      }
    }
    JsonNode dtypeNode = entry.get("dtype");
    JsonNode shapeNode = entry.get("shape");
    JsonNode offsets = entry.get("data_offsets");
    if (dtypeNode == null || !dtypeNode.isTextual()) {
      throw new CheckpointException(
          String.format("Tensor %s in %s has no dtype string", name, path));
    }
    if (shapeNode == null || !shapeNode.isArray() || shapeNode.size() > MAX_RANK) {
      throw new CheckpointException(
          String.format(
              "Tensor %s in %s has no shape array of at most %d dimensions", name, path, MAX_RANK));
    }
    if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
      throw new CheckpointException(
          String.format("Tensor %s in %s has no data_offsets [begin, end]", name, path));
    }
    DType dtype = DType.parse(dtypeNode.asText(), path + " (tensor " + name + ")");
    long[] shape = new long[shapeNode.size()];
    long numel = 1;
    for (int i = 0; i < shape.length; i++) {
      shape[i] = nonNegativeLong(shapeNode.get(i), "shape", path, name);
      try {
        numel = Math.multiplyExact(numel, shape[i]);
      } catch (ArithmeticException e) {
        throw new CheckpointException(
            String.format("Shape %s of tensor %s in %s overflows", shapeNode, name, path));
      }
    }
    long begin = nonNegativeLong(offsets.get(0), "data_offsets", path, name);
    long end = nonNegativeLong(offsets.get(1), "data_offsets", path, name);
    if (end < begin) {
      throw new CheckpointException(
          String.format("Tensor %s in %s ends (%d) before it begins (%d)", name, path, end, begin));
    }
    long expected;
    try {
      expected = Math.multiplyExact(numel, dtype.byteSize());
    } catch (ArithmeticException e) {
      throw new CheckpointException(
          String.format("Shape %s of tensor %s in %s overflows", shapeNode, name, path));
    }
    if (expected != end - begin) {
      throw new CheckpointException(
          String.format(
              "Tensor %s in %s has %d bytes but its shape %s and dtype %s need %d",
              name, path, end - begin, Arrays.toString(shape), dtype, expected));
    }
    return new TensorInfo(name, dtype, shape, begin, end);
  }

  private static long nonNegativeLong(JsonNode n, String field, Path path, String tensor) {
    if (n == null || !n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 0) {
      throw new CheckpointException(
          String.format(
              "Tensor %s in %s has an invalid %s value %s (want a non-negative integer)",
              tensor, path, field, n));
    }
    return n.asLong();
  }

  /** The tensors' byte ranges must tile the data section exactly. */
  private static void checkTiling(Path path, Map<String, TensorInfo> tensors, long dataLength) {
    List<TensorInfo> sorted = new ArrayList<>(tensors.values());
    sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
    long expectedBegin = 0;
    TensorInfo previous = null;
    for (TensorInfo t : sorted) {
      if (t.begin() < expectedBegin) {
        throw new CheckpointException(
            String.format(
                "Tensor %s in %s overlaps tensor %s (bytes [%d, %d) vs [%d, %d))",
                t.name(),
                path,
                previous.name(),
                t.begin(),
                t.end(),
                previous.begin(),
                previous.end()));
      }
      if (t.begin() > expectedBegin) {
        throw new CheckpointException(
            String.format(
                "Gap of %d bytes before tensor %s in %s (data offsets must be contiguous)",
                t.begin() - expectedBegin, t.name(), path));
      }
      if (t.end() > dataLength) {
        throw new CheckpointException(
            String.format(
                "Tensor %s in %s ends at byte %d of a %d-byte data section: truncated file or bad"
                    + " offsets",
                t.name(), path, t.end(), dataLength));
      }
      expectedBegin = t.end();
      previous = t;
    }
    if (expectedBegin != dataLength) {
      throw new CheckpointException(
          String.format(
              "%d trailing bytes after the last tensor in %s (data section %d bytes, tensors end at"
                  + " %d)",
              dataLength - expectedBegin, path, dataLength, expectedBegin));
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  public Path path() {
    return path;
  }

  /** Length of the file in bytes, as seen when it was opened. */
  public long length() {
    return source.length;
  }

  /** Tensor entries in header order. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  /** The entry for {@code name}, or a CheckpointException naming the file. */
  public TensorInfo info(String name) {
    TensorInfo info = tensors.get(name);
    if (info == null) {
      throw new CheckpointException(String.format("No tensor %s in %s", name, path));
    }
    return info;
  }

  /** Reads one tensor (at most 2^31 - 16 elements) and widens it to F32. */
  public FloatTensor readFloat(String name) {
    TensorInfo info = arrayable(name);
    float[] data = new float[(int) info.numel()];
    readFloat(name, 0, data, 0, data.length);
    return new FloatTensor(info.shape(), data);
  }

  /**
   * Reads one tensor widened to F32 into a new direct buffer in native byte order (position 0,
   * limit its size): the layout DJL's {@code NDManager.create(Buffer, Shape, DataType.FLOAT32)}
   * wraps on CPU without copying. The values go from the stored bytes to the buffer through one
   * cache-sized chunk, where {@code create(float[])} on the result of {@link #readFloat(String)}
   * writes a heap array and then copies all of it into DJL's own direct buffer.
   */
  public ByteBuffer readFloatDirect(String name) {
    TensorInfo info = info(name);
    if (info.numel() > (Integer.MAX_VALUE - 16) / Float.BYTES) {
      throw new CheckpointException(
          String.format(
              "Tensor %s in %s has %d elements, more than one buffer holds as F32: read it in"
                  + " ranges with readFloat(name, first, dst)",
              name, path, info.numel()));
    }
    ByteBuffer out =
        ByteBuffer.allocateDirect((int) info.numel() * Float.BYTES).order(ByteOrder.nativeOrder());
    readFloat(name, 0, out.asFloatBuffer());
    return out;
  }

  private TensorInfo arrayable(String name) {
    TensorInfo info = info(name);
    if (info.numel() > Integer.MAX_VALUE - 16) {
      throw new CheckpointException(
          String.format(
              "Tensor %s in %s has %d elements, more than a Java array holds: read it in ranges"
                  + " with readFloat(name, first, dst, offset, count)",
              name, path, info.numel()));
    }
    return info;
  }

  /**
   * Reads several tensors widened to F32, in the order of {@code names}. A remote file fetches them
   * with one vectored read per {@value #VECTORED_BATCH_BYTES} bytes of tensors (the client
   * coalesces nearby ranges and reads them in parallel); a local file reads them from its map as
   * {@link #readFloat(String)} does. Holds every result; see {@link #readFloats(Collection,
   * BiConsumer)} to hold one batch at a time.
   */
  public Map<String, FloatTensor> readFloats(Collection<String> names) {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    names.forEach(n -> out.put(n, null));
    readFloats(names, out::put);
    return out;
  }

  /**
   * Reads several tensors as {@link #readFloats(Collection)} does, handing each to {@code consumer}
   * as soon as it is converted (in file order), so at most one batch is held here.
   */
  public void readFloats(Collection<String> names, BiConsumer<String, FloatTensor> consumer) {
    readFloats(names, VECTORED_BATCH_BYTES, consumer);
  }

  /** Stored bytes fetched per vectored read at most (a single larger tensor goes alone). */
  static final int VECTORED_BATCH_BYTES = 128 << 20;

  void readFloats(
      Collection<String> names, long batchBytes, BiConsumer<String, FloatTensor> consumer) {
    List<TensorInfo> ranged = new ArrayList<>();
    List<String> single = new ArrayList<>();
    for (String name : new java.util.LinkedHashSet<>(names)) {
      TensorInfo info = arrayable(name);
      if (source.vectored() && info.byteSize() <= Integer.MAX_VALUE - 16) {
        ranged.add(info);
      } else {
        single.add(name);
      }
    }
    ranged.sort(Comparator.comparingLong(TensorInfo::begin));
    for (int from = 0; from < ranged.size(); ) {
      int to = from + 1;
      long bytes = ranged.get(from).byteSize();
      while (to < ranged.size() && bytes + ranged.get(to).byteSize() <= batchBytes) {
        bytes += ranged.get(to++).byteSize();
      }
      readVectored(ranged.subList(from, to), consumer);
      from = to;
    }
    for (String name : single) {
      consumer.accept(name, readFloat(name));
    }
  }

  private void readVectored(List<TensorInfo> batch, BiConsumer<String, FloatTensor> consumer) {
    List<FileRange> ranges = new ArrayList<>();
    for (TensorInfo t : batch) {
      ranges.add(FileRange.createFileRange(dataStart + t.begin(), (int) t.byteSize(), t));
    }
    try {
      source.readRanges(
          ranges,
          (range, data) -> {
            TensorInfo t = (TensorInfo) range.getReference();
            float[] values = new float[(int) t.numel()];
            DTypeConversions.toFloats(t.dtype(), data, values, 0, values.length);
            consumer.accept(t.name(), new FloatTensor(t.shape(), values));
          });
    } catch (ByteSource.RangeFailure e) {
      String name = ((TensorInfo) e.range.getReference()).name();
      throw new CheckpointException(
          String.format("Cannot read tensor %s from %s: %s", name, path, describe(e)), e);
    } catch (IOException e) {
      throw new CheckpointException(
          String.format(
              "Cannot read tensors %s from %s: %s",
              batch.stream().map(TensorInfo::name).toList(), path, describe(e)),
          e);
    }
  }

  /**
   * Reads elements {@code [first, first + count)} of tensor {@code name} (in row-major order),
   * widened to F32, into {@code dst[dstOffset..]}. Works for tensors of any size.
   */
  public void readFloat(String name, long first, float[] dst, int dstOffset, int count) {
    TensorInfo info = info(name);
    checkRange(info, first, count);
    if (dstOffset < 0 || dstOffset + count > dst.length || count < 0) {
      throw new IndexOutOfBoundsException(
          String.format(
              "Destination [%d, %d) outside array of %d",
              dstOffset, dstOffset + count, dst.length));
    }
    int size = info.dtype().byteSize();
    ByteBuffer scratch = null;
    try (ByteSource.Reader reader = source.reader()) {
      // a mapped file that shrank faults asynchronously (an InternalError possibly raised after
      // any catch could see it): check the length before touching the mapping, and after
      source.verify();
      for (int done = 0; done < count; ) {
        int n = Math.min(STREAM_CHUNK_ELEMENTS, count - done);
        long pos = dataStart + info.begin() + (first + done) * size;
        ByteBuffer bytes = source.view(pos, n * size);
        if (bytes == null) {
          if (scratch == null) {
            scratch = ByteBuffer.allocate(Math.min(count, STREAM_CHUNK_ELEMENTS) * size);
          }
          scratch.clear().limit(n * size);
          reader.read(pos, scratch);
          bytes = scratch.flip();
        }
        DTypeConversions.toFloats(info.dtype(), bytes, dst, dstOffset + done, n);
        done += n;
      }
      source.verify();
    } catch (IOException e) {
      throw new CheckpointException(
          String.format("Cannot read tensor %s from %s: %s", name, path, describe(e)), e);
    } catch (InternalError e) {
      throw changedWhileMapped(name, e);
    }
  }

  /**
   * The failure's message, led by what it means when the object store reports that the file is no
   * longer the one opened (S3A's change detection: its etag or version no longer matches).
   */
  static String describe(IOException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getClass().getSimpleName().equals("RemoteFileChangedException")) {
        return "the file changed on the server after it was opened (its etag no longer matches);"
            + " reopen the model. "
            + e.getMessage();
      }
    }
    return e.getMessage();
  }

  /** The JVM reports a fault on a mapped file that shrank after mapping as an InternalError. */
  private CheckpointException changedWhileMapped(String name, InternalError e) {
    return new CheckpointException(
        String.format(
            "Cannot read tensor %s from %s: the file changed while mapped (%s)",
            name, path, e.getMessage()),
        e);
  }

  /**
   * Reads elements starting at {@code first}, widened to F32, into {@code dst} from its position to
   * its limit (heap or direct), and advances its position.
   */
  public void readFloat(String name, long first, FloatBuffer dst) {
    if (dst.hasArray()) {
      int n = dst.remaining();
      readFloat(name, first, dst.array(), dst.arrayOffset() + dst.position(), n);
      dst.position(dst.position() + n);
      return;
    }
    float[] chunk = new float[Math.min(dst.remaining(), STREAM_CHUNK_ELEMENTS)];
    long at = first;
    while (dst.hasRemaining()) {
      int n = Math.min(chunk.length, dst.remaining());
      readFloat(name, at, chunk, 0, n);
      dst.put(chunk, 0, n);
      at += n;
    }
  }

  /** Receives a tensor in order, one chunk at a time. */
  @FunctionalInterface
  public interface FloatChunkConsumer {
    /**
     * @param first index of {@code values[0]} in the tensor
     * @param values F32 values; only {@code [0, count)} is valid, and the array is reused
     */
    void accept(long first, float[] values, int count);
  }

  /** Streams a tensor of any size widened to F32 in chunks of {@code chunkElements}. */
  public void forEachChunk(String name, int chunkElements, FloatChunkConsumer consumer) {
    TensorInfo info = info(name);
    long numel = info.numel();
    float[] chunk = new float[(int) Math.max(1, Math.min(chunkElements, numel))];
    for (long at = 0; at < numel; ) {
      int n = (int) Math.min(chunk.length, numel - at);
      readFloat(name, at, chunk, 0, n);
      consumer.accept(at, chunk, n);
      at += n;
    }
  }

  /**
   * Reads the raw little-endian bytes of {@code name} starting {@code byteOffset} bytes into the
   * tensor into {@code dst} from its position to its limit (for integer tensors and copying).
   */
  public void readBytes(String name, long byteOffset, ByteBuffer dst) {
    TensorInfo info = info(name);
    if (byteOffset < 0 || byteOffset + dst.remaining() > info.byteSize()) {
      throw new IndexOutOfBoundsException(
          String.format(
              "Bytes [%d, %d) outside tensor %s (%d bytes) in %s",
              byteOffset, byteOffset + dst.remaining(), name, info.byteSize(), path));
    }
    try {
      source.verify();
      source.read(dataStart + info.begin() + byteOffset, dst);
    } catch (IOException e) {
      throw new CheckpointException(
          String.format("Cannot read tensor %s from %s: %s", name, path, describe(e)), e);
    } catch (InternalError e) {
      throw changedWhileMapped(name, e);
    }
  }

  ByteSource source() {
    return source;
  }

  private void checkRange(TensorInfo info, long first, int count) {
    if (first < 0 || count < 0 || first + count > info.numel()) {
      throw new IndexOutOfBoundsException(
          String.format(
              "Elements [%d, %d) outside tensor %s (%d elements) in %s",
              first, first + count, info.name(), info.numel(), path));
    }
  }
}
