package dev.evomerge.worker.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;
import org.apache.hadoop.fs.Path;

/**
 * Writes a Hugging Face model folder (sharded safetensors with {@value HfModelFolder#INDEX} when
 * more than one shard, {@code config.json}, tokenizer files) so that readers never see a partial
 * model.
 *
 * <ul>
 *   <li>Filesystems with atomic rename (local, HDFS): everything goes to a hidden sibling folder
 *       that is renamed into place when complete.
 *   <li>Object stores ({@code s3a:} and friends, or {@value #ATOMIC_RENAME_KEY}{@code =false}):
 *       written in place, always sharded, shards first, then {@code config.json} and tokenizer
 *       files, then the index (which names evomerge as writer), then {@value
 *       HfModelFolder#COMPLETE_MARKER} listing every shard and its length. {@link HfModelFolder}
 *       refuses an evomerge index without a matching marker, and a folder without an index has no
 *       weights, so an interrupted write never reads as a model. A failed write deletes what it
 *       wrote.
 * </ul>
 */
public final class HfModelWriter {
  /** Overrides whether the target filesystem is treated as having atomic directory rename. */
  public static final String ATOMIC_RENAME_KEY = "evomerge.io.atomic-rename";

  private static final Set<String> OBJECT_STORES =
      Set.of("s3", "s3a", "s3n", "gs", "oss", "cos", "cosn", "obs", "wasb", "wasbs");

  private static final Pattern LAYER = Pattern.compile("(?:^|\\.)layers\\.(\\d+)\\.");

  private static final ObjectMapper JSON = new ObjectMapper();

  private HfModelWriter() {}

  /**
   * Whether {@code fs} renames atomically (local, HDFS), so writers can stage and rename; false for
   * object stores ({@code s3a:} and friends), or as {@value #ATOMIC_RENAME_KEY} says.
   */
  public static boolean hasAtomicRename(FileSystem fs, Configuration conf) {
    return conf.getBoolean(
        ATOMIC_RENAME_KEY, !OBJECT_STORES.contains(fs.getScheme().toLowerCase(Locale.ROOT)));
  }

  /** Writes heap tensors in one shard per 5 GB (the skeleton's entry point). */
  public static void write(
      Path target,
      Configuration conf,
      ObjectNode config,
      Map<String, FloatTensor> tensors,
      DType dtype,
      List<Path> tokenizerFiles) {
    Map<String, TensorSource> sources = new LinkedHashMap<>();
    tensors.forEach((k, v) -> sources.put(k, TensorSource.of(v)));
    write(target, conf, config, sources, WriteOptions.of(dtype), tokenizerFiles);
  }

  /**
   * Writes {@code tensors} (streamed in chunks, so any size) as a model folder at {@code target},
   * which must not exist.
   */
  public static void write(
      Path target,
      Configuration conf,
      ObjectNode config,
      Map<String, TensorSource> tensors,
      WriteOptions options,
      List<Path> tokenizerFiles) {
    try {
      FileSystem fs = target.getFileSystem(conf);
      // no .crc side files from the local checksum filesystem in a model folder
      fs.setWriteChecksum(false);
      target = fs.makeQualified(target);
      if (fs.exists(target)) {
        throw new CheckpointException(String.format("Output folder %s already exists", target));
      }
      if (hasAtomicRename(fs, conf)) {
        writeStagedAndRename(fs, conf, target, config, tensors, options, tokenizerFiles);
      } else {
        writeInPlace(fs, conf, target, config, tensors, options, tokenizerFiles);
      }
    } catch (IOException e) {
      throw new CheckpointException(
          String.format("Cannot write model folder %s: %s", target, e.getMessage()), e);
    }
  }

  private static void writeStagedAndRename(
      FileSystem fs,
      Configuration conf,
      Path target,
      ObjectNode config,
      Map<String, TensorSource> tensors,
      WriteOptions options,
      List<Path> tokenizerFiles)
      throws IOException {
    Path staging =
        new Path(target.getParent(), "." + target.getName() + ".tmp-" + UUID.randomUUID());
    fs.mkdirs(staging);
    try {
      writeContents(fs, conf, staging, config, tensors, options, tokenizerFiles, false);
      if (!fs.rename(staging, target)) {
        throw new CheckpointException(
            String.format("Cannot move finished model %s into place at %s", staging, target));
      }
    } catch (IOException | RuntimeException | Error e) {
      fs.delete(staging, true);
      throw e;
    }
  }

  private static void writeInPlace(
      FileSystem fs,
      Configuration conf,
      Path target,
      ObjectNode config,
      Map<String, TensorSource> tensors,
      WriteOptions options,
      List<Path> tokenizerFiles)
      throws IOException {
    fs.mkdirs(target);
    try {
      writeContents(fs, conf, target, config, tensors, options, tokenizerFiles, true);
    } catch (IOException | RuntimeException | Error e) {
      try {
        fs.delete(target, true);
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  private static void writeContents(
      FileSystem fs,
      Configuration conf,
      Path dir,
      ObjectNode config,
      Map<String, TensorSource> tensors,
      WriteOptions options,
      List<Path> tokenizerFiles,
      boolean alwaysIndex)
      throws IOException {
    List<Map<String, TensorSource>> plan = planShards(tensors, options);
    boolean useIndex = alwaysIndex || plan.size() > 1;
    Map<String, Long> shardLengths = new LinkedHashMap<>();
    Map<String, String> weightMap = new TreeMap<>();
    long totalSize = 0;
    for (int i = 0; i < plan.size(); i++) {
      String name =
          useIndex
              ? String.format("model-%05d-of-%05d.safetensors", i + 1, plan.size())
              : HfModelFolder.WEIGHTS;
      long len = SafetensorsWriter.write(fs, new Path(dir, name), plan.get(i), options.dtype());
      shardLengths.put(name, len);
      for (Map.Entry<String, TensorSource> t : plan.get(i).entrySet()) {
        weightMap.put(t.getKey(), name);
        totalSize += SafetensorsWriter.dataBytes(t.getValue(), options.dtype());
      }
    }
    writeJson(fs, new Path(dir, HfModelFolder.CONFIG), updatedConfig(config, tensors, options));
    for (Path src : tokenizerFiles) {
      FileUtil.copy(
          src.getFileSystem(conf), src, fs, new Path(dir, src.getName()), false, true, conf);
    }
    if (useIndex) {
      ObjectNode index = JSON.createObjectNode();
      ObjectNode meta = index.putObject("metadata");
      meta.put("total_size", totalSize);
      meta.put(HfModelFolder.WRITER_KEY, "evomerge");
      ObjectNode wm = index.putObject("weight_map");
      weightMap.forEach(wm::put);
      writeJson(fs, new Path(dir, HfModelFolder.INDEX), index);
    }
    ObjectNode marker = JSON.createObjectNode();
    ObjectNode shards = marker.putObject("shards");
    shardLengths.forEach(shards::put);
    writeJson(fs, new Path(dir, HfModelFolder.COMPLETE_MARKER), marker);
  }

  /** Hugging Face's rule: start a new shard before a tensor that would overflow the current one. */
  static List<Map<String, TensorSource>> planShards(
      Map<String, TensorSource> tensors, WriteOptions options) {
    List<Map<String, TensorSource>> shards = new ArrayList<>();
    Map<String, TensorSource> current = new LinkedHashMap<>();
    long currentBytes = 0;
    for (Map.Entry<String, TensorSource> e : tensors.entrySet()) {
      long bytes = SafetensorsWriter.dataBytes(e.getValue(), options.dtype());
      if (!current.isEmpty() && currentBytes + bytes > options.maxShardBytes()) {
        shards.add(current);
        current = new LinkedHashMap<>();
        currentBytes = 0;
      }
      current.put(e.getKey(), e.getValue());
      currentBytes += bytes;
    }
    shards.add(current);
    return shards;
  }

  /**
   * Sets {@code torch_dtype}, and {@code num_hidden_layers} when the tensors' layer count differs
   * from the config's (a merge that drops or stacks layers).
   */
  static ObjectNode updatedConfig(
      ObjectNode config, Map<String, TensorSource> tensors, WriteOptions options) {
    ObjectNode cfg = config.deepCopy();
    cfg.put("torch_dtype", torchDtypeName(options.dtype()));
    int layers = -1;
    for (String name : tensors.keySet()) {
      Matcher m = LAYER.matcher(name);
      if (m.find()) {
        layers = Math.max(layers, Integer.parseInt(m.group(1)) + 1);
      }
    }
    if (layers > 0
        && cfg.has("num_hidden_layers")
        && cfg.get("num_hidden_layers").asInt() != layers) {
      cfg.put("num_hidden_layers", layers);
    }
    return cfg;
  }

  private static void writeJson(FileSystem fs, Path p, ObjectNode node) throws IOException {
    try (OutputStream out = fs.create(p, true)) {
      JSON.writerWithDefaultPrettyPrinter().writeValue(out, node);
    }
  }

  static String torchDtypeName(DType dtype) {
    return switch (dtype) {
      case F32 -> "float32";
      case F16 -> "float16";
      case BF16 -> "bfloat16";
      case F64 -> "float64";
      default -> throw new IllegalArgumentException("Not a model dtype: " + dtype);
    };
  }
}
