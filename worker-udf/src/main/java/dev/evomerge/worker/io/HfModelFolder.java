package dev.evomerge.worker.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.hash.Hashing;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A Hugging Face model folder: {@code config.json}, either {@code model.safetensors} or {@code
 * model.safetensors.index.json} with its shards, and the tokenizer files that travel with it.
 * Opening it lists the folder once and reads only {@code config.json}, the index and the shards'
 * headers; tensors are read on demand.
 *
 * <p>A folder written by {@link HfModelWriter} to an object store (no atomic rename) is complete
 * only when its index names evomerge as the writer <em>and</em> the completion marker {@value
 * #COMPLETE_MARKER} is present with matching shard lengths; otherwise it is refused as an
 * interrupted write.
 */
public final class HfModelFolder {
  public static final String CONFIG = "config.json";
  public static final String WEIGHTS = "model.safetensors";
  public static final String INDEX = "model.safetensors.index.json";
  public static final String TOKENIZER = "tokenizer.json";

  /** Written last by {@link HfModelWriter}: lists every shard and its length. */
  public static final String COMPLETE_MARKER = "evomerge-complete.json";

  /** Index metadata key naming the writer; its presence makes the marker mandatory. */
  static final String WRITER_KEY = "evomerge_writer";

  /** Hadoop setting: node-local folder for the executor shard cache (off when unset). */
  public static final String CACHE_DIR_KEY = "evomerge.io.shard-cache.dir";

  /** Hadoop setting: byte budget of the shard cache (default 100 GiB). */
  public static final String CACHE_BYTES_KEY = "evomerge.io.shard-cache.bytes";

  /** Index files larger than this are refused unread (a 70B index is about 100 KiB). */
  static final long MAX_JSON_BYTES = 64L << 20;

  /** Files copied along with the weights when a merged model is written. */
  public static final List<String> TOKENIZER_FILES =
      List.of(
          TOKENIZER, "tokenizer_config.json", "special_tokens_map.json", "generation_config.json");

  private final Path folder;
  private final ObjectNode config;
  private final List<SafetensorsFile> shards;
  private final Map<String, SafetensorsFile> tensorShard;
  private final Map<String, TensorInfo> tensors;
  private final String versionKey;
  private final boolean sharded;
  private final List<Path> tokenizerFiles;

  private HfModelFolder(
      Path folder,
      ObjectNode config,
      List<SafetensorsFile> shards,
      Map<String, SafetensorsFile> tensorShard,
      String versionKey,
      boolean sharded,
      List<Path> tokenizerFiles) {
    this.folder = folder;
    this.config = config;
    this.shards = List.copyOf(shards);
    this.tensorShard = tensorShard;
    Map<String, TensorInfo> all = new LinkedHashMap<>();
    tensorShard.forEach((name, shard) -> all.put(name, shard.tensors().get(name)));
    this.tensors = Collections.unmodifiableMap(all);
    this.versionKey = versionKey;
    this.sharded = sharded;
    this.tokenizerFiles = List.copyOf(tokenizerFiles);
  }

  /**
   * Opens a model folder given as a path or URI ({@code file:}, {@code s3a:}, {@code hdfs:}).
   * Remote shards go through the JVM's shared {@link ShardCache} when {@value #CACHE_DIR_KEY} is
   * set, so executors get the cache from configuration alone.
   */
  public static HfModelFolder open(String uri, Configuration conf) {
    String cacheDir = conf.getTrimmed(CACHE_DIR_KEY);
    ShardCache cache =
        cacheDir == null || cacheDir.isEmpty()
            ? null
            : ShardCache.shared(
                java.nio.file.Path.of(cacheDir), conf.getLongBytes(CACHE_BYTES_KEY, 100L << 30));
    return open(uri, conf, cache);
  }

  /**
   * Opens a model folder; remote shards are read from local copies in {@code cache} (may be null).
   */
  public static HfModelFolder open(String uri, Configuration conf, ShardCache cache) {
    Path folder = new Path(uri);
    try {
      FileSystem fs = folder.getFileSystem(conf);
      FileStatus folderStatus;
      try {
        folderStatus = fs.getFileStatus(folder);
      } catch (FileNotFoundException e) {
        throw new CheckpointException(String.format("Model folder %s does not exist", uri), e);
      }
      if (!folderStatus.isDirectory()) {
        if (isPickle(folder.getName())) {
          throw pickleRefused(folder);
        }
        throw new CheckpointException(String.format("Model path %s is not a folder", uri));
      }
      folder = folderStatus.getPath();
      Map<String, FileStatus> listing = new TreeMap<>();
      for (FileStatus st : fs.listStatus(folder)) {
        listing.put(st.getPath().getName(), st);
      }
      if (!listing.containsKey(INDEX) && !listing.containsKey(WEIGHTS)) {
        for (String name : listing.keySet()) {
          if (isPickle(name)) {
            throw pickleRefused(new Path(folder, name));
          }
        }
        throw new CheckpointException(
            String.format("Model folder %s has neither %s nor %s", folder, WEIGHTS, INDEX));
      }
      if (!listing.containsKey(CONFIG)) {
        throw new CheckpointException(String.format("Missing %s", new Path(folder, CONFIG)));
      }
      ObjectNode config = readJsonObject(fs, listing.get(CONFIG));
      List<SafetensorsFile> shards = new ArrayList<>();
      Map<String, SafetensorsFile> tensorShard = new LinkedHashMap<>();
      boolean sharded = listing.containsKey(INDEX);
      if (sharded) {
        openSharded(fs, conf, cache, folder, listing, shards, tensorShard);
      } else {
        SafetensorsFile f = openShard(fs, conf, cache, listing.get(WEIGHTS));
        shards.add(f);
        f.tensors().keySet().forEach(n -> tensorShard.put(n, f));
      }
      StringBuilder id = new StringBuilder(folder.toString());
      for (SafetensorsFile s : shards) {
        FileStatus st = listing.get(s.path().getName());
        id.append('|').append(st.getPath().getName()).append('#').append(st.getLen());
        id.append('@').append(st.getModificationTime());
      }
      String version =
          folder
              + "#"
              + Hashing.sha256()
                  .hashString(id.toString(), StandardCharsets.UTF_8)
                  .toString()
                  .substring(0, 16);
      List<Path> tokenizer = new ArrayList<>();
      for (String name : TOKENIZER_FILES) {
        if (listing.containsKey(name) && listing.get(name).isFile()) {
          tokenizer.add(listing.get(name).getPath());
        }
      }
      return new HfModelFolder(folder, config, shards, tensorShard, version, sharded, tokenizer);
    } catch (IOException e) {
      throw new CheckpointException(
          String.format("Cannot open model folder %s: %s", uri, e.getMessage()), e);
    }
  }

  private static void openSharded(
      FileSystem fs,
      Configuration conf,
      ShardCache cache,
      Path folder,
      Map<String, FileStatus> listing,
      List<SafetensorsFile> shards,
      Map<String, SafetensorsFile> tensorShard)
      throws IOException {
    Path indexPath = new Path(folder, INDEX);
    ObjectNode index = readJsonObject(fs, listing.get(INDEX));
    JsonNode weightMap = index.get("weight_map");
    if (weightMap == null || !weightMap.isObject() || weightMap.isEmpty()) {
      throw new CheckpointException(
          String.format("%s has no weight_map object naming the shards", indexPath));
    }
    JsonNode metadata = index.get("metadata");
    if (metadata != null && metadata.has(WRITER_KEY)) {
      checkCompleteMarker(fs, folder, listing);
    }
    // shard name -> tensors the index puts there, in index order
    Map<String, List<String>> byShard = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw new CheckpointException(
            String.format(
                "%s maps tensor %s to a non-string %s", indexPath, e.getKey(), e.getValue()));
      }
      String shard = e.getValue().asText();
      checkShardName(indexPath, e.getKey(), shard);
      byShard.computeIfAbsent(shard, s -> new ArrayList<>()).add(e.getKey());
    }
    List<String> shardNames = new ArrayList<>(byShard.keySet());
    Collections.sort(shardNames);
    for (String shardName : shardNames) {
      FileStatus st = listing.get(shardName);
      if (st == null) {
        throw new CheckpointException(
            String.format(
                "Shard %s listed in %s (for tensor %s) is missing",
                shardName, indexPath, byShard.get(shardName).get(0)));
      }
      SafetensorsFile shard = openShard(fs, conf, cache, st);
      for (String tensor : byShard.get(shardName)) {
        if (!shard.tensors().containsKey(tensor)) {
          throw new CheckpointException(
              String.format(
                  "Tensor %s is listed in %s for shard %s but that shard has no such tensor",
                  tensor, indexPath, shard.path()));
        }
      }
      for (String tensor : shard.tensors().keySet()) {
        if (!shardName.equals(weightMap.path(tensor).asText(null))) {
          throw new CheckpointException(
              String.format(
                  "Tensor %s in shard %s is not mapped to that shard by %s",
                  tensor, shard.path(), indexPath));
        }
        tensorShard.put(tensor, shard);
      }
      shards.add(shard);
    }
  }

  /** Shard names must be plain file names in the folder: no paths, no URIs, no {@code ..}. */
  static void checkShardName(Path indexPath, String tensor, String shard) {
    if (shard.isEmpty()
        || shard.equals(".")
        || shard.equals("..")
        || shard.contains("/")
        || shard.contains("\\")
        || shard.contains(":")
        || shard.startsWith(".")
        || shard.chars().anyMatch(c -> c < 0x20)) {
      throw new CheckpointException(
          String.format(
              "%s maps tensor %s to shard '%s', which is not a plain file name in the model folder"
                  + " (paths, URIs and '..' are refused)",
              indexPath, tensor, shard));
    }
    if (isPickle(shard)) {
      throw pickleRefused(new Path(indexPath.getParent(), shard));
    }
    if (!shard.endsWith(".safetensors")) {
      throw new CheckpointException(
          String.format(
              "%s maps tensor %s to shard %s, which is not a .safetensors file",
              indexPath, tensor, shard));
    }
  }

  private static void checkCompleteMarker(
      FileSystem fs, Path folder, Map<String, FileStatus> listing) throws IOException {
    FileStatus marker = listing.get(COMPLETE_MARKER);
    if (marker == null) {
      throw new CheckpointException(
          String.format(
              "Model folder %s was written by evomerge but has no %s: the write did not finish",
              folder, COMPLETE_MARKER));
    }
    JsonNode shards = readJsonObject(fs, marker).get("shards");
    if (shards == null || !shards.isObject()) {
      throw new CheckpointException(String.format("%s has no shards object", marker.getPath()));
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = shards.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      FileStatus st = listing.get(e.getKey());
      if (st == null || st.getLen() != e.getValue().asLong(-1)) {
        throw new CheckpointException(
            String.format(
                "Shard %s in %s does not match %s (missing or wrong length): incomplete write",
                e.getKey(), folder, COMPLETE_MARKER));
      }
    }
  }

  private static SafetensorsFile openShard(
      FileSystem fs, Configuration conf, ShardCache cache, FileStatus st) throws IOException {
    if (cache != null && !"file".equals(fs.getScheme())) {
      java.nio.file.Path local = cache.localCopy(fs, st);
      if (local != null) {
        ByteSource src =
            new ByteSource.Mapped(st.getPath(), st.getLen(), local.toFile()); // errors name the URI
        return SafetensorsFile.open(st.getPath(), src);
      }
    }
    return SafetensorsFile.open(fs, st, conf);
  }

  static boolean isPickle(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return n.endsWith(".bin")
        || n.endsWith(".pt")
        || n.endsWith(".pth")
        || n.endsWith(".pkl")
        || n.endsWith(".ckpt")
        || n.equals("pytorch_model.bin.index.json");
  }

  static CheckpointException pickleRefused(Path p) {
    return new CheckpointException(
        String.format(
            "%s is a PyTorch pickle checkpoint, which evomerge refuses to load: unpickling can run"
                + " arbitrary code. Convert it to safetensors first, e.g. in Python:"
                + " AutoModelForCausalLM.from_pretrained(folder).save_pretrained(out,"
                + " safe_serialization=True) (in an isolated environment if the source is"
                + " untrusted)",
            p));
  }

  static ObjectNode readJsonObject(FileSystem fs, FileStatus st) throws IOException {
    Path p = st.getPath();
    if (st.getLen() > MAX_JSON_BYTES) {
      throw new CheckpointException(
          String.format(
              "%s is %d bytes, more than the %d allowed", p, st.getLen(), MAX_JSON_BYTES));
    }
    try (InputStream in = fs.open(p)) {
      if (SafetensorsFile.STRICT_JSON.readTree(in) instanceof ObjectNode node) {
        return node;
      }
      throw new CheckpointException(String.format("%s is not a JSON object", p));
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new CheckpointException(
          String.format("Malformed JSON in %s: %s", p, e.getOriginalMessage()), e);
    }
  }

  public Path folder() {
    return folder;
  }

  public String uri() {
    return folder.toString();
  }

  /** Whether the weights are sharded behind {@value #INDEX}. */
  public boolean isSharded() {
    return sharded;
  }

  /** A copy of {@code config.json}. */
  public ObjectNode config() {
    return config.deepCopy();
  }

  /** All tensors, shard by shard in header order. */
  public Map<String, TensorInfo> tensors() {
    return tensors;
  }

  /** The safetensors files holding the weights, in name order. */
  public List<SafetensorsFile> shards() {
    return shards;
  }

  /** The file holding {@code name}. */
  public SafetensorsFile shardOf(String name) {
    SafetensorsFile f = tensorShard.get(name);
    if (f == null) {
      throw new CheckpointException(String.format("No tensor %s in model %s", name, folder));
    }
    return f;
  }

  /** Total bytes of tensor data. */
  public long tensorBytes() {
    return tensors.values().stream().mapToLong(TensorInfo::byteSize).sum();
  }

  public FloatTensor readFloat(String name) {
    return shardOf(name).readFloat(name);
  }

  /** See {@link SafetensorsFile#readFloatDirect(String)}. */
  public java.nio.ByteBuffer readFloatDirect(String name) {
    return shardOf(name).readFloatDirect(name);
  }

  /**
   * Reads a range of a tensor of any size; see {@link SafetensorsFile#readFloat(String, long,
   * float[], int, int)}.
   */
  public void readFloat(String name, long first, float[] dst, int dstOffset, int count) {
    shardOf(name).readFloat(name, first, dst, dstOffset, count);
  }

  /** A streaming source for {@code name}, for writing it elsewhere without holding it. */
  public TensorSource source(String name) {
    return TensorSource.of(shardOf(name), name);
  }

  /** All tensors widened to F32, in {@link #tensors()} order. */
  public Map<String, FloatTensor> readAllFloat() {
    return readFloats(tensors.keySet());
  }

  /**
   * Several tensors widened to F32, in the order of {@code names}, fetched shard by shard with
   * {@link SafetensorsFile#readFloats} (one vectored read per batch on remote filesystems).
   */
  public Map<String, FloatTensor> readFloats(Collection<String> names) {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    names.forEach(n -> out.put(n, null));
    readFloats(names, out::put);
    return out;
  }

  /**
   * Reads several tensors shard by shard, handing each to {@code consumer} once converted (shard
   * and file order), so that only one batch of F32 values is held here at a time.
   */
  public void readFloats(Collection<String> names, BiConsumer<String, FloatTensor> consumer) {
    Map<SafetensorsFile, List<String>> byShard = new LinkedHashMap<>();
    for (String name : names) {
      byShard.computeIfAbsent(shardOf(name), s -> new ArrayList<>()).add(name);
    }
    byShard.forEach((shard, inShard) -> shard.readFloats(inShard, consumer));
  }

  /** Identity of the weights' bytes, for caches: folder plus every shard's length and mtime. */
  public String versionKey() {
    return versionKey;
  }

  /** Tokenizer files present in this folder (from the listing made at open). */
  public List<Path> tokenizerFiles() {
    return tokenizerFiles;
  }
}
