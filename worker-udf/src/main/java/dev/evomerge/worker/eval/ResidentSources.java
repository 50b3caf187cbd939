package dev.evomerge.worker.eval;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.evomerge.worker.io.CheckpointException;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.merge.MergeMethod;
import dev.evomerge.worker.merge.MergeMethods;
import dev.evomerge.worker.merge.PreparedTensor;
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
import org.apache.hadoop.fs.Path;

/**
 * Source models held in device memory for the life of the JVM, so every task of every generation on
 * this executor reuses them: each source crosses storage once per executor, not per task.
 *
 * <p>Keyed by the sources' identities (path, length, modification time), so a changed checkpoint is
 * read again. One entry is kept: a run works on one set of sources.
 */
public final class ResidentSources implements AutoCloseable {
  private static final AtomicLong LOADS = new AtomicLong();
  private static ResidentSources current;

  private final String key;
  private final LlamaConfig config;
  private final NDManager manager;
  private final Map<String, PreparedTensor> tensors;
  private final TextTokenizer tokenizer;
  private List<LlamaModel> sourceModels;

  private ResidentSources(
      String key,
      LlamaConfig config,
      NDManager manager,
      Map<String, PreparedTensor> tensors,
      TextTokenizer tokenizer) {
    this.key = key;
    this.config = config;
    this.manager = manager;
    this.tensors = tensors;
    this.tokenizer = tokenizer;
  }

  /** The resident sources for {@code spec} on the CPU. */
  public static ResidentSources get(EvalSpec spec) {
    return get(spec, Device.cpu());
  }

  /** The resident sources for {@code spec} on {@code device}, loaded on first use in this JVM. */
  public static synchronized ResidentSources get(EvalSpec spec, Device device) {
    // the driver's identities of the sources: a warm executor compares them and reads nothing
    String key =
        String.join("|", device.toString(), spec.method(), spec.tokenizerUri())
            + "|"
            + String.join("|", spec.versions());
    if (current != null && current.key.equals(key)) {
      return current;
    }
    if (current != null) {
      current.close();
      current = null;
    }
    Configuration conf = hadoopConf(spec);
    List<HfModelFolder> folders = new ArrayList<>();
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
    HfModelFolder base = spec.baseUri() == null ? null : folders.remove(folders.size() - 1);
    current = load(key, folders, base, spec, conf, device);
    return current;
  }

  /** How many times this JVM loaded sources from storage (for tests and metrics). */
  public static long loadCount() {
    return LOADS.get();
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
      MergeMethod method = MergeMethods.get(spec.method());
      Map<String, PreparedTensor> prepared = new LinkedHashMap<>();
      for (String name : folders.get(0).tensors().keySet()) {
        // read one tensor of every source, stack (and subtract the base) once, keep only that
        try (NDManager scratch = manager.newSubManager()) {
          PreparedTensor t =
              TensorInputs.prepare(method, name, spec.sourceUris(), folders, base, scratch);
          for (NDArray a : new NDArray[] {t.stacked(), t.base(), t.deltas()}) {
            if (a != null) {
              a.attach(manager);
            }
          }
          prepared.put(name, t);
        }
      }
      // BOS/EOS and add_bos_token from tokenizer_config.json next to tokenizer.json
      TextTokenizer tokenizer =
          TextTokenizer.load(new Path(spec.tokenizerUri()).getParent(), conf, config);
      return new ResidentSources(
          key, config, manager, Collections.unmodifiableMap(prepared), tokenizer);
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
  public void close() {
    tokenizer.close();
    manager.close();
  }
}
