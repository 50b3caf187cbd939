package dev.evomerge.worker.eval;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.HfModelWriter;
import dev.evomerge.worker.io.TensorSource;
import dev.evomerge.worker.io.WriteOptions;
import dev.evomerge.worker.merge.MergeRecipe;
import dev.evomerge.worker.model.LayerPathModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Writes a data-flow candidate (a layer path) as an HF checkpoint: the embedding model's
 * embeddings, hop {@code k}'s layer as layer {@code k}, the head model's final norm and LM head,
 * and {@code num_hidden_layers} set to the path length. {@code config.json} records the path under
 * {@link LayerPathModel#CONFIG_KEY} ({@code hops}, {@code embedding_model}, {@code head_model})
 * and, when a scale is not 1, {@code scales}, which evomerge's runtime applies when it loads the
 * checkpoint ({@link LayerPathModel#of}). With every scale 1 it is a plain Llama checkpoint.
 */
public final class LayerPathWriter {
  private static final Pattern LAYER = Pattern.compile("^model\\.layers\\.(\\d+)\\.(.+)$");

  private LayerPathWriter() {}

  public static void write(
      EvalSpec spec, double[] genome, Path target, DType dtype, ObjectNode extraConfig) {
    write(spec, genome, target, WriteOptions.of(dtype), extraConfig);
  }

  /** As {@link #write(EvalSpec, double[], Path, DType, ObjectNode)}, with dtype and shard size. */
  public static void write(
      EvalSpec spec, double[] genome, Path target, WriteOptions options, ObjectNode extraConfig) {
    DataFlowSpec flow = spec.dataFlow();
    Configuration conf = ResidentSources.hadoopConf(spec);
    List<HfModelFolder> folders = new ArrayList<>();
    for (String uri : spec.sourceUris()) {
      folders.add(HfModelFolder.open(uri, conf));
    }
    List<LayerPathModel.Hop> hops = flow.path(genome);
    HfModelFolder embedding = folders.get(flow.embedding());
    HfModelFolder head = folders.get(flow.head());
    // per source: layer index -> (suffix -> tensor name)
    List<Map<Integer, Map<String, String>>> layerTensors = new ArrayList<>();
    for (HfModelFolder f : folders) {
      Map<Integer, Map<String, String>> byLayer = new LinkedHashMap<>();
      for (String name : f.tensors().keySet()) {
        Matcher m = LAYER.matcher(name);
        if (m.matches()) {
          byLayer
              .computeIfAbsent(Integer.parseInt(m.group(1)), k -> new LinkedHashMap<>())
              .put(m.group(2), name);
        }
      }
      layerTensors.add(byLayer);
    }
    boolean tied = embedding.config().path("tie_word_embeddings").asBoolean(false);
    boolean tiedOut = tied && flow.head() == flow.embedding();
    Map<String, TensorSource> tensors = new LinkedHashMap<>();
    tensors.put("model.embed_tokens.weight", embedding.source("model.embed_tokens.weight"));
    for (int k = 0; k < hops.size(); k++) {
      LayerPathModel.Hop hop = hops.get(k);
      HfModelFolder f = folders.get(hop.source());
      for (Map.Entry<String, String> e :
          layerTensors.get(hop.source()).get(hop.layer()).entrySet()) {
        tensors.put("model.layers." + k + "." + e.getKey(), f.source(e.getValue()));
      }
    }
    tensors.put("model.norm.weight", head.source("model.norm.weight"));
    if (!tiedOut) {
      // a tied head model's LM head is its embedding matrix
      tensors.put(
          "lm_head.weight", head.source(tied ? "model.embed_tokens.weight" : "lm_head.weight"));
    }
    ObjectNode config = embedding.config();
    config.put("num_hidden_layers", hops.size());
    config.put("tie_word_embeddings", tiedOut);
    if (extraConfig != null) {
      config.setAll(extraConfig);
    }
    ObjectNode record = config.putObject(LayerPathModel.CONFIG_KEY);
    record.put("embedding_model", spec.sourceUris().get(flow.embedding()));
    record.put("head_model", spec.sourceUris().get(flow.head()));
    ArrayNode path = record.putArray("hops");
    boolean scaled = false;
    for (LayerPathModel.Hop hop : hops) {
      path.addObject()
          .put("model", spec.sourceUris().get(hop.source()))
          .put("layer", hop.layer())
          .put("scale", hop.scale());
      scaled |= hop.scale() != 1f;
    }
    if (scaled) {
      ArrayNode scales = record.putArray("scales");
      hops.forEach(h -> scales.add(h.scale()));
    }
    Path tokenizerFolder = new Path(spec.tokenizerUri()).getParent();
    HfModelWriter.write(
        target,
        conf,
        config,
        tensors,
        options,
        HfModelFolder.open(tokenizerFolder.toString(), conf).tokenizerFiles());
  }

  /**
   * The path as a mergekit {@code passthrough} recipe with one slice per run of consecutive layers
   * of one model, or null when mergekit cannot express it: a scale other than 1 (mergekit scales
   * weights, not hidden states) or a head model other than the embedding model (passthrough takes
   * the final norm and head from the last slice's model, which is the embedding model here).
   */
  public static MergeRecipe recipe(EvalSpec spec, double[] genome, String outDtype) {
    DataFlowSpec flow = spec.dataFlow();
    List<LayerPathModel.Hop> hops = flow.path(genome);
    if (flow.head() != flow.embedding() || hops.stream().anyMatch(h -> h.scale() != 1f)) {
      return null;
    }
    List<MergeRecipe.Slice> slices = new ArrayList<>();
    int start = 0;
    for (int k = 1; k <= hops.size(); k++) {
      boolean continues =
          k < hops.size()
              && hops.get(k).source() == hops.get(k - 1).source()
              && hops.get(k).layer() == hops.get(k - 1).layer() + 1;
      if (!continues) {
        LayerPathModel.Hop first = hops.get(start);
        String model = spec.sourceUris().get(first.source());
        slices.add(
            new MergeRecipe.Slice(
                List.of(
                    new MergeRecipe.SliceSource(
                        model, first.layer(), first.layer() + (k - start), Map.of())),
                Map.of()));
        start = k;
      }
    }
    return new MergeRecipe(
        "passthrough", null, null, slices, Map.of(), "float32", outDtype, null, null, null, null);
  }
}
