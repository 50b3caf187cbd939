package dev.evomerge.worker.eval;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.score.TextTokenizer;
import java.io.IOException;
import java.io.InputStream;
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
  private final List<Map<String, NDArray>> tensors;
  private final TextTokenizer tokenizer;

  private ResidentSources(
      String key,
      LlamaConfig config,
      NDManager manager,
      List<Map<String, NDArray>> tensors,
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
    Configuration conf = hadoopConf(spec);
    List<HfModelFolder> folders = new ArrayList<>();
    StringBuilder key = new StringBuilder(device + "|" + spec.tokenizerUri());
    for (String uri : spec.sourceUris()) {
      HfModelFolder folder = HfModelFolder.open(uri, conf);
      folders.add(folder);
      key.append('|').append(folder.versionKey());
    }
    if (current != null && current.key.equals(key.toString())) {
      return current;
    }
    if (current != null) {
      current.close();
      current = null;
    }
    current = load(key.toString(), folders, spec, conf, device);
    return current;
  }

  /** How many times this JVM loaded sources from storage (for tests and metrics). */
  public static long loadCount() {
    return LOADS.get();
  }

  private static ResidentSources load(
      String key, List<HfModelFolder> folders, EvalSpec spec, Configuration conf, Device device) {
    LOADS.incrementAndGet();
    LlamaConfig config =
        LlamaConfig.parse(folders.get(0).config(), folders.get(0).uri() + "/config.json");
    NDManager manager = NDManager.newBaseManager(device);
    try {
      List<Map<String, NDArray>> tensors = new ArrayList<>();
      for (HfModelFolder folder : folders) {
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        for (String name : folders.get(0).tensors().keySet()) {
          FloatTensor t = folder.readFloat(name);
          NDArray a = manager.create(t.data(), new Shape(t.shape()));
          // never owned by a task's scope, whatever scope happens to be open on this thread
          NDScope.unregister(a);
          arrays.put(name, a);
        }
        tensors.add(Collections.unmodifiableMap(arrays));
      }
      TextTokenizer tokenizer;
      Path tokenizerPath = new Path(spec.tokenizerUri());
      try (InputStream in = tokenizerPath.getFileSystem(conf).open(tokenizerPath)) {
        tokenizer = TextTokenizer.load(in, config.bosTokenId());
      }
      return new ResidentSources(key, config, manager, List.copyOf(tensors), tokenizer);
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

  public List<Map<String, NDArray>> tensors() {
    return tensors;
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
