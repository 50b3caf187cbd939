package dev.evomerge.worker.eval;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.evomerge.worker.io.CheckpointException;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.SafetensorsFile;
import dev.evomerge.worker.io.TensorInfo;
import dev.evomerge.worker.merge.MergeMethod;
import dev.evomerge.worker.merge.MergeMethods;
import dev.evomerge.worker.merge.MergeStatistics;
import dev.evomerge.worker.merge.PreparedTensor;
import dev.evomerge.worker.merge.StatisticsFolder;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.LlamaModel;
import dev.evomerge.worker.score.TextTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Source models prepared for a merge method and held in host or device memory, so every task of
 * every generation on this executor reuses them: each source crosses storage once per executor, not
 * per task.
 *
 * <p>Held in a JVM-wide {@link ResidentCache} bounded in bytes ({@value #HOST_BYTES_KEY}, {@value
 * #DEVICE_BYTES_KEY}), keyed by the device, whether task vectors are prepared, the tokenizer and
 * the sources' identities (URI, length, modification time or etag, as the driver took them), so a
 * changed checkpoint is read again and a warm executor reads nothing.
 */
public final class ResidentSources implements ResidentCache.Resident {
  /** The Spark setting of the host-memory budget of the executor's cache. */
  public static final String HOST_BYTES_KEY = "spark.evomerge.executor.cache.host-bytes";

  /** The Spark setting of the device-memory budget of the executor's cache. */
  public static final String DEVICE_BYTES_KEY = "spark.evomerge.executor.cache.device-bytes";

  /** Default host budget: 16 GiB. */
  public static final long DEFAULT_HOST_BYTES = 16L << 30;

  /** Default device budget: 16 GiB. */
  public static final long DEFAULT_DEVICE_BYTES = 16L << 30;

  private static final AtomicLong LOADS = new AtomicLong();
  private static final ResidentCache<ResidentSources> CACHE =
      new ResidentCache<>(
          DEFAULT_HOST_BYTES, DEFAULT_DEVICE_BYTES, HOST_BYTES_KEY, DEVICE_BYTES_KEY);

  private final String key;
  private final Device device;
  private final LlamaConfig config;
  private final NDManager manager;
  private final Map<String, PreparedTensor> tensors;
  private final TextTokenizer tokenizer;
  private final long bytes;
  private final long bytesRead;
  private List<LlamaModel> sourceModels;

  private ResidentSources(
      String key,
      Device device,
      LlamaConfig config,
      NDManager manager,
      Map<String, PreparedTensor> tensors,
      TextTokenizer tokenizer,
      long bytesRead) {
    this.key = key;
    this.bytesRead = bytesRead;
    this.device = device;
    this.config = config;
    this.manager = manager;
    this.tensors = tensors;
    this.tokenizer = tokenizer;
    long sum = 0;
    for (PreparedTensor t : tensors.values()) {
      sum += t.residentBytes();
    }
    this.bytes = sum;
  }

  /** The executor JVM's cache of resident sources. */
  public static ResidentCache<ResidentSources> cache() {
    return CACHE;
  }

  /** The resident sources for {@code spec} on the CPU, loaded on first use in this JVM. */
  public static ResidentCache<ResidentSources>.Lease acquire(EvalSpec spec) {
    return acquire(spec, Device.cpu());
  }

  /**
   * The resident sources for {@code spec} on {@code device}, from the JVM's cache or loaded (and
   * checked against the driver's identities) on a miss. Close the lease when done.
   */
  public static ResidentCache<ResidentSources>.Lease acquire(EvalSpec spec, Device device) {
    boolean deltas = MergeMethods.get(spec.method()).baseUse() != MergeMethod.BaseUse.NONE;
    // the driver's identities of the sources: a warm executor compares them and reads nothing
    String key =
        String.join(
                "|",
                device.toString(),
                deltas ? "inputs+task-vectors" : "inputs",
                spec.tokenizerUri(),
                String.valueOf(spec.baseUri()))
            + "|"
            + String.join("|", spec.sourceUris())
            + "|"
            + String.join("|", spec.versions())
            + populationKey(spec);
    boolean onDevice = !Device.Type.CPU.equals(device.getDeviceType());
    return CACHE.acquire(key, onDevice, new SourceLoader(key, spec, device, deltas));
  }

  /**
   * In Evolver's mode, the population merge and the identities of the statistics it holds resident;
   * empty otherwise.
   */
  private static String populationKey(EvalSpec spec) {
    PopulationSpec p = spec.population();
    if (p == null || MergeMethods.get(p.method()).statistics().isEmpty()) {
      return "";
    }
    return "|statistics:"
        + p.method()
        + "|"
        + String.join("|", p.statistics())
        + "|"
        + String.join("|", p.statisticsKeys());
  }

  /**
   * The method the resident tensors are prepared for: the population merge's in Evolver's mode (its
   * statistics are read with the sources), else the spec's.
   */
  static MergeMethod preparedMethod(EvalSpec spec) {
    return MergeMethods.get(spec.population() != null ? spec.population().method() : spec.method());
  }

  /** The statistics the prepared method merges with, one folder per source; NONE if none. */
  static MergeStatistics statistics(EvalSpec spec, Configuration conf) {
    MergeMethod method = preparedMethod(spec);
    if (spec.population() == null || method.statistics().isEmpty()) {
      return MergeStatistics.NONE;
    }
    Map<String, String> folders = new LinkedHashMap<>();
    for (int i = 0; i < spec.sourceUris().size(); i++) {
      folders.put(spec.sourceUris().get(i), spec.population().statistics().get(i));
    }
    return StatisticsFolder.open(folders, method.statistics(), conf);
  }

  /** Opens the folders (headers only) for the estimate, then reads and prepares every tensor. */
  private static final class SourceLoader implements ResidentCache.Loader<ResidentSources> {
    private final String key;
    private final EvalSpec spec;
    private final Device device;
    private final boolean deltas;
    private final Configuration conf;
    private final List<HfModelFolder> folders = new ArrayList<>();
    private HfModelFolder base;

    SourceLoader(String key, EvalSpec spec, Device device, boolean deltas) {
      this.key = key;
      this.spec = spec;
      this.device = device;
      this.deltas = deltas;
      this.conf = hadoopConf(spec);
    }

    @Override
    public long estimateBytes() {
      List<String> uris = new ArrayList<>(spec.sourceUris());
      if (spec.baseUri() != null) {
        uris.add(spec.baseUri());
      }
      for (int i = 0; i < uris.size(); i++) {
        HfModelFolder folder = HfModelFolder.open(uris.get(i), conf);
        if (i < spec.versions().size() && !folder.versionKey().equals(spec.versions().get(i))) {
          throw new CheckpointException(
              String.format(
                  "Model %s changed since the run started (was %s, now %s)",
                  uris.get(i), spec.versions().get(i), folder.versionKey()));
        }
        folders.add(folder);
      }
      base = spec.baseUri() == null ? null : folders.remove(folders.size() - 1);
      // float32 [n, numel] inputs, plus the base and n task vectors when the method uses them
      long perElement = folders.size() + (base == null ? 0 : 1 + (deltas ? folders.size() : 0));
      long numel = 0;
      for (TensorInfo t : folders.get(0).tensors().values()) {
        numel += t.numel();
      }
      long statistics = 0;
      if (spec.population() != null) {
        // Fisher: the model's size per source; Gram: [in, in] per linear layer and source
        MergeMethod method = preparedMethod(spec);
        for (TensorInfo t : folders.get(0).tensors().values()) {
          if (method.statistics().contains(MergeStatistics.Kind.FISHER)) {
            statistics += t.numel() * folders.size();
          }
          if (method.statistics().contains(MergeStatistics.Kind.GRAM) && t.shape().length == 2) {
            statistics += t.shape()[1] * t.shape()[1] * folders.size();
          }
        }
      }
      return 4 * (numel * perElement + statistics);
    }

    @Override
    public ResidentSources load() {
      return ResidentSources.load(key, folders, base, spec, conf, device);
    }
  }

  /** How many times this JVM loaded sources from storage (for tests and metrics). */
  public static long loadCount() {
    return LOADS.get();
  }

  /** Bytes this JVM read through Hadoop filesystems (every scheme), as their statistics count. */
  @SuppressWarnings("deprecation")
  public static long storageBytesRead() {
    long sum = 0;
    for (FileSystem.Statistics st : FileSystem.getAllStatistics()) {
      sum += st.getBytesRead();
    }
    return sum;
  }

  private static ResidentSources load(
      String key,
      List<HfModelFolder> folders,
      HfModelFolder base,
      EvalSpec spec,
      Configuration conf,
      Device device) {
    LOADS.incrementAndGet();
    LlamaConfig config =
        LlamaConfig.parse(folders.get(0).config(), folders.get(0).uri() + "/config.json");
    NDManager manager = NDManager.newBaseManager(device);
    try {
      MergeMethod method = preparedMethod(spec);
      MergeStatistics stats = statistics(spec, conf);
      Map<String, PreparedTensor> prepared = new LinkedHashMap<>();
      for (String name : folders.get(0).tensors().keySet()) {
        // read one tensor of every source, stack (and subtract the base) once, keep only that
        try (NDManager scratch = manager.newSubManager()) {
          PreparedTensor t =
              TensorInputs.prepare(method, name, spec.sourceUris(), folders, base, scratch, stats);
          for (NDArray a : new NDArray[] {t.stacked(), t.base(), t.deltas()}) {
            if (a != null) {
              a.attach(manager);
            }
          }
          for (MergeStatistics.Kind kind : MergeStatistics.Kind.values()) {
            if (t.statistic(kind) != null) {
              t.statistic(kind).attach(manager);
            }
          }
          prepared.put(name, t);
        }
      }
      // BOS/EOS and add_bos_token from tokenizer_config.json next to tokenizer.json
      TextTokenizer tokenizer =
          TextTokenizer.load(new Path(spec.tokenizerUri()).getParent(), conf, config);
      // every shard of every source (and of the base) is read whole: headers and tensor data
      long read = 0;
      List<HfModelFolder> all = new ArrayList<>(folders);
      if (base != null) {
        all.add(base);
      }
      for (HfModelFolder folder : all) {
        for (SafetensorsFile shard : folder.shards()) {
          read += shard.length();
        }
      }
      return new ResidentSources(
          key, device, config, manager, Collections.unmodifiableMap(prepared), tokenizer, read);
    } catch (IOException e) {
      manager.close();
      throw new UncheckedIOException("Cannot read tokenizer " + spec.tokenizerUri(), e);
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  static Configuration hadoopConf(EvalSpec spec) {
    Configuration conf = new Configuration();
    spec.hadoopConf().forEach(conf::set);
    return conf;
  }

  public LlamaConfig config() {
    return config;
  }

  public NDManager manager() {
    return manager;
  }

  /** Every tensor's inputs, prepared once for the method: what each candidate combines. */
  public Map<String, PreparedTensor> tensors() {
    return tensors;
  }

  /**
   * Each source as a model over views of the resident stacked inputs (no copy), for layer paths;
   * made on first use and kept.
   */
  public synchronized List<LlamaModel> sourceModels() {
    if (sourceModels == null) {
      int n = tensors.values().iterator().next().count();
      List<Map<String, NDArray>> perSource = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        perSource.add(new LinkedHashMap<>());
      }
      for (PreparedTensor t : tensors.values()) {
        for (int i = 0; i < n; i++) {
          NDArray view = t.stacked().get(i).reshape(t.shape());
          NDScope.unregister(view); // lives as long as the resident arrays, not the caller's scope
          perSource.get(i).put(t.name(), view);
        }
      }
      List<LlamaModel> models = new ArrayList<>();
      for (Map<String, NDArray> w : perSource) {
        models.add(new LlamaModel(config, w));
      }
      sourceModels = List.copyOf(models);
    }
    return sourceModels;
  }

  public TextTokenizer tokenizer() {
    return tokenizer;
  }

  @Override
  public long residentBytes() {
    return bytes;
  }

  @Override
  public long bytesRead() {
    return bytesRead;
  }

  @Override
  public boolean onDevice() {
    return !Device.Type.CPU.equals(device.getDeviceType());
  }

  @Override
  public String toString() {
    return key;
  }

  @Override
  public void close() {
    tokenizer.close();
    manager.close();
  }
}
