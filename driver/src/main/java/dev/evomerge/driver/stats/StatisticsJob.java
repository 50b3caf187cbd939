package dev.evomerge.driver.stats;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.base.Preconditions;
import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.merge.MergeStatistics;
import dev.evomerge.worker.merge.StatisticsFolder;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.ModelWeights;
import dev.evomerge.worker.score.TextTokenizer;
import dev.evomerge.worker.spark.StatisticsShardFunction;
import dev.evomerge.worker.stats.ModelStatistics;
import dev.evomerge.worker.stats.StatisticsComputer;
import dev.evomerge.worker.stats.StatisticsOptions;
import dev.evomerge.worker.stats.StatisticsRow;
import dev.evomerge.worker.stats.StatisticsSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

/**
 * Computes each source's statistics on the cluster: the driver tokenises each source's texts with
 * the source's own tokenizer and checks everything it can (folders, config, the Gram memory bound,
 * token ids) before any cluster work; the rows of all sources are spread over {@code shards}
 * partitions, each executor sums its shard per model ({@link StatisticsShardFunction}), the
 * partials are added by key and collected, and the driver writes each source's statistics folder.
 *
 * <p>Cache: a folder holds {@value #MARKER}, keyed by the model's version key, the options and the
 * token ids; a source whose folder has the same key is not recomputed (nothing is read but the
 * marker and the model folder's headers). A folder missing one of the files is recomputed.
 *
 * <p>Memory: a partial is as large as the model (Fisher, F32) plus its Gram matrices, per shard
 * holding the model's rows; the driver holds one sum per model while writing it.
 */
public final class StatisticsJob {
  /** The cache marker written last into each statistics folder. */
  public static final String MARKER = "evomerge-statistics.json";

  private static final ObjectMapper JSON = new ObjectMapper();

  private StatisticsJob() {}

  /**
   * One model and its data.
   *
   * @param name the model's name in messages and in the job
   * @param modelUri the model's folder
   * @param out where its statistics go (null: {@code modelUri/statistics}, where {@code evomerge
   *     merge} looks by default)
   * @param texts the data, one text per sequence
   */
  public record Source(String name, String modelUri, String out, List<String> texts) {
    public Source {
      texts = List.copyOf(texts);
    }

    public String folder() {
      return out != null ? out : new Path(modelUri, StatisticsFolder.DEFAULT_SUBFOLDER).toString();
    }
  }

  /**
   * What happened to one source.
   *
   * @param cached the folder already held these statistics: nothing was computed
   */
  public record Outcome(String name, String folder, boolean cached, long sequences, long tokens) {}

  public static List<Outcome> run(
      SparkSession spark,
      List<Source> sources,
      StatisticsOptions options,
      Map<String, String> hadoop,
      int shards) {
    Preconditions.checkArgument(shards > 0, "Invalid statistics shards: %s", shards);
    Configuration conf = new Configuration();
    hadoop.forEach(conf::set);
    Map<String, String> uris = new LinkedHashMap<>();
    Map<String, String> keys = new LinkedHashMap<>();
    List<StatisticsRow> rows = new ArrayList<>();
    Map<String, List<StatisticsRow>> bySource = new LinkedHashMap<>();
    List<Outcome> outcomes = new ArrayList<>();
    java.util.Set<String> names = new java.util.HashSet<>();
    for (Source s : sources) {
      Preconditions.checkArgument(names.add(s.name()), "Model %s named twice", s.name());
      HfModelFolder folder = HfModelFolder.open(s.modelUri(), conf);
      LlamaConfig config = ModelWeights.config(folder);
      StatisticsComputer.checkGramMemory(config, options, s.name());
      List<long[]> seqs;
      try (TextTokenizer tokenizer = TextTokenizer.load(folder.folder(), conf, config)) {
        seqs = StatisticsComputer.tokenize(tokenizer, s.texts(), options.maxLength());
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot load the tokenizer of model " + s.name(), e);
      }
      Preconditions.checkArgument(
          !seqs.isEmpty(), "No statistics data for model %s (every text under 2 tokens)", s.name());
      for (long[] q : seqs) {
        for (long id : q) {
          Preconditions.checkArgument(
              id >= 0 && id < config.vocabSize(),
              "Statistics data of model %s has token id %s outside the vocabulary of %s",
              s.name(),
              id,
              config.vocabSize());
        }
      }
      String key = key(folder.versionKey(), options, seqs);
      ObjectNode marker = readMarker(s.folder(), conf);
      if (marker != null
          && key.equals(marker.path("key").asText())
          && filesPresent(s.folder(), options, conf)) {
        outcomes.add(
            new Outcome(
                s.name(),
                s.folder(),
                true,
                marker.path("sequences").asLong(),
                marker.path("tokens").asLong()));
        continue;
      }
      uris.put(s.name(), folder.uri());
      keys.put(s.name(), key);
      List<StatisticsRow> own = new ArrayList<>();
      seqs.forEach(q -> own.add(new StatisticsRow(s.name(), q)));
      bySource.put(s.name(), own);
      rows.addAll(own);
    }
    if (uris.isEmpty()) {
      return outcomes;
    }
    // shards are contiguous ranges of rows: interleave the sources so each shard gets a share of
    // every source
    List<StatisticsRow> interleaved = new ArrayList<>(rows.size());
    for (int i = 0; interleaved.size() < rows.size(); i++) {
      for (List<StatisticsRow> source : bySource.values()) {
        if (i < source.size()) {
          interleaved.add(source.get(i));
        }
      }
    }
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Broadcast<StatisticsSpec> spec = jsc.broadcast(new StatisticsSpec(uris, options, hadoop));
    Map<String, ModelStatistics> sums;
    try {
      sums =
          jsc.parallelize(interleaved, shards)
              .mapPartitionsToPair(new StatisticsShardFunction(spec))
              .reduceByKey(ModelStatistics::plus)
              .collectAsMap();
    } finally {
      spec.destroy();
    }
    List<String> broken = new ArrayList<>();
    for (Source s : sources) {
      ModelStatistics sum = sums.get(s.name());
      if (sum == null) {
        continue;
      }
      String bad = firstNonFinite(sum);
      if (bad != null) {
        // never cached: a later call computes this model again
        broken.add(s.name() + " (" + bad + ")");
        continue;
      }
      sum.write(s.folder(), conf);
      writeMarker(s.folder(), conf, keys.get(s.name()), sum);
      outcomes.add(new Outcome(s.name(), s.folder(), false, sum.sequences(), sum.tokens()));
    }
    if (!broken.isEmpty()) {
      throw new NonFiniteStatistics(
          "Non-finite statistics (NaN or infinity), not written, for model(s) " + broken);
    }
    return outcomes;
  }

  /** Some model's sums came back with NaN or infinite entries; the others were written. */
  public static final class NonFiniteStatistics extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    NonFiniteStatistics(String message) {
      super(message);
    }
  }

  /** The first tensor (and kind) with a non-finite entry, or null when all are finite. */
  static String firstNonFinite(ModelStatistics sum) {
    for (Map.Entry<String, Map<String, dev.evomerge.worker.io.FloatTensor>> kind :
        Map.of("Fisher", sum.fisherSum(), "Gram", sum.gramSum()).entrySet()) {
      for (Map.Entry<String, dev.evomerge.worker.io.FloatTensor> t : kind.getValue().entrySet()) {
        for (float v : t.getValue().data()) {
          if (!Float.isFinite(v)) {
            return kind.getKey() + " of " + t.getKey();
          }
        }
      }
    }
    return null;
  }

  private static String key(String versionKey, StatisticsOptions options, List<long[]> seqs) {
    Hasher h = Hashing.sha256().newHasher();
    h.putString(versionKey, StandardCharsets.UTF_8)
        .putString(options.toString(), StandardCharsets.UTF_8);
    for (long[] q : seqs) {
      h.putInt(q.length);
      for (long id : q) {
        h.putLong(id);
      }
    }
    return h.hash().toString();
  }

  /** Whether the statistics files {@code options} asks for are all in {@code folder}. */
  private static boolean filesPresent(
      String folder, StatisticsOptions options, Configuration conf) {
    try {
      FileSystem fs = new Path(folder).getFileSystem(conf);
      return (!options.fisher()
              || fs.exists(new Path(folder, MergeStatistics.Kind.FISHER.fileName())))
          && (!options.gram() || fs.exists(new Path(folder, MergeStatistics.Kind.GRAM.fileName())));
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * The cache key of the statistics in {@code folder} (what identifies model, data and options), or
   * null when it holds none.
   */
  public static String cacheKey(String folder, Configuration conf) {
    ObjectNode marker = readMarker(folder, conf);
    return marker == null ? null : marker.path("key").asText(null);
  }

  private static ObjectNode readMarker(String folder, Configuration conf) {
    Path path = new Path(folder, MARKER);
    try {
      FileSystem fs = path.getFileSystem(conf);
      if (!fs.exists(path)) {
        return null;
      }
      try (InputStream in = fs.open(path)) {
        return (ObjectNode) JSON.readTree(in);
      }
    } catch (IOException | ClassCastException e) {
      return null; // unreadable marker: recompute
    }
  }

  private static void writeMarker(
      String folder, Configuration conf, String key, ModelStatistics sum) {
    Path path = new Path(folder, MARKER);
    ObjectNode marker = JSON.createObjectNode();
    marker.put("key", key);
    marker.put("sequences", sum.sequences());
    marker.put("tokens", sum.tokens());
    marker.put("fisher", !sum.fisherSum().isEmpty());
    marker.put("gram", !sum.gramSum().isEmpty());
    try (OutputStream out = path.getFileSystem(conf).create(path, true)) {
      out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(marker));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + path, e);
    }
  }
}
