package dev.evomerge.worker.model;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A model whose tokens pass through a path of decoder layers taken from several source models
 * (Sakana's data-flow-space merge, layer stacking): embeddings from one source, then each hop's
 * layer with the hidden state passed into it multiplied by the hop's scale, then the final norm and
 * LM head of a chosen source. RoPE positions and the mask come from the embedding source's config.
 *
 * <p>Hops only refer to the sources' layers: a layer that appears several times in the path is the
 * same NDArrays each time, nothing is copied. The layer math is {@link LlamaModel}'s own. A KV
 * cache has one slot per hop. Not thread-safe; build one per thread, it is cheap.
 */
public final class LayerPathModel implements LanguageModel {
  /**
   * One step of the path.
   *
   * @param source index into the sources
   * @param layer the source's decoder layer
   * @param scale multiplies the hidden state passed into the layer
   */
  public record Hop(int source, int layer, float scale) {}

  private final List<LlamaModel> sources;
  private final LlamaModel embedding;
  private final LlamaModel head;
  private final List<Hop> hops;

  /**
   * @param sources the models whose layers the path uses; their hidden size and head dimension must
   *     match the embedding source's
   * @param embeddingSource index of the source giving the embeddings (and RoPE, tokenizer)
   * @param headSource index of the source giving the final norm and LM head
   * @throws IllegalArgumentException naming the hop or source that does not fit
   */
  public LayerPathModel(
      List<LlamaModel> sources, int embeddingSource, int headSource, List<Hop> hops) {
    Preconditions.checkArgument(!sources.isEmpty(), "A layer path needs at least one source");
    Preconditions.checkArgument(
        0 <= embeddingSource && embeddingSource < sources.size(),
        "Invalid embedding source %s of %s sources",
        embeddingSource,
        sources.size());
    Preconditions.checkArgument(
        0 <= headSource && headSource < sources.size(),
        "Invalid head source %s of %s sources",
        headSource,
        sources.size());
    Preconditions.checkArgument(!hops.isEmpty(), "A layer path needs at least one hop");
    LlamaConfig e = sources.get(embeddingSource).config();
    for (int i = 0; i < sources.size(); i++) {
      LlamaConfig c = sources.get(i).config();
      Preconditions.checkArgument(
          c.hiddenSize() == e.hiddenSize() && c.headDim() == e.headDim(),
          "Source %s has hidden_size %s and head_dim %s; the embedding source has %s and %s",
          i,
          c.hiddenSize(),
          c.headDim(),
          e.hiddenSize(),
          e.headDim());
    }
    Preconditions.checkArgument(
        sources.get(headSource).config().vocabSize() == e.vocabSize(),
        "Head source %s has vocab_size %s; the embedding source has %s",
        headSource,
        sources.get(headSource).config().vocabSize(),
        e.vocabSize());
    for (int k = 0; k < hops.size(); k++) {
      Hop h = hops.get(k);
      Preconditions.checkArgument(
          0 <= h.source() && h.source() < sources.size(),
          "Hop %s refers to source %s of %s",
          k,
          h.source(),
          sources.size());
      int layers = sources.get(h.source()).config().numLayers();
      Preconditions.checkArgument(
          0 <= h.layer() && h.layer() < layers,
          "Hop %s refers to layer %s of source %s, which has %s layers",
          k,
          h.layer(),
          h.source(),
          layers);
      Preconditions.checkArgument(
          Float.isFinite(h.scale()), "Hop %s has scale %s", (Object) k, h.scale());
    }
    this.sources = List.copyOf(sources);
    this.embedding = this.sources.get(embeddingSource);
    this.head = this.sources.get(headSource);
    this.hops = List.copyOf(hops);
  }

  /**
   * Key of {@code config.json} under which an exported layer path records itself: {@code scales}
   * (one per layer of the checkpoint, the hidden state passed into layer k is multiplied by {@code
   * scales[k]}) and, for provenance, {@code hops} ({@code model}, {@code layer}), {@code
   * embedding_model} and {@code head_model}.
   */
  public static final String CONFIG_KEY = "evomerge_layer_path";

  /**
   * The model a checkpoint describes: its layers in order, each input scaled as {@code config.json}
   * records under {@link #CONFIG_KEY}, or a plain {@link LlamaModel} when it records no scales.
   *
   * @param where names the config file in error messages
   */
  public static LanguageModel of(
      LlamaConfig config, Map<String, NDArray> weights, ObjectNode json, String where) {
    LlamaModel model = new LlamaModel(config, weights);
    JsonNode scales = json.path(CONFIG_KEY).path("scales");
    if (scales.isMissingNode() || scales.isNull()) {
      return model;
    }
    if (!scales.isArray() || scales.size() != config.numLayers()) {
      throw new ModelConfigException(
          String.format(
              "%s.scales in %s must list one number per layer (%d): %s",
              CONFIG_KEY, where, config.numLayers(), scales));
    }
    List<Hop> hops = new ArrayList<>();
    for (int k = 0; k < scales.size(); k++) {
      if (!scales.get(k).isNumber() || !Double.isFinite(scales.get(k).asDouble())) {
        throw new ModelConfigException(
            String.format("Invalid %s.scales[%d] in %s: %s", CONFIG_KEY, k, where, scales.get(k)));
      }
      hops.add(new Hop(0, k, (float) scales.get(k).asDouble()));
    }
    return new LayerPathModel(List.of(model), 0, 0, hops);
  }

  public List<Hop> hops() {
    return hops;
  }

  @Override
  public KvCache newCache(int batch) {
    return new KvCache(hops.size(), batch);
  }

  @Override
  public NDArray logits(NDArray inputIds) {
    return head.lmHead(hidden(inputIds, null, null));
  }

  @Override
  public NDArray logits(NDArray inputIds, NDArray attentionMask) {
    return head.lmHead(hidden(inputIds, LlamaModel.maskRows(attentionMask), null));
  }

  @Override
  public NDArray nextTokenLogits(NDArray inputIds, NDArray attentionMask, KvCache cache) {
    NDArray h =
        hidden(inputIds, attentionMask == null ? null : LlamaModel.maskRows(attentionMask), cache);
    long t = h.getShape().get(1);
    return head.lmHead(h.get(":, " + (t - 1) + ", :"));
  }

  private NDArray hidden(NDArray inputIds, float[][] mask, KvCache cache) {
    if (cache != null) {
      cache.checkSlots(hops.size());
    }
    LlamaModel.Pass pass = embedding.begin(inputIds, mask, cache);
    NDArray x = embedding.embed(inputIds);
    for (int k = 0; k < hops.size(); k++) {
      Hop hop = hops.get(k);
      if (hop.scale() != 1f) {
        x = x.mul(hop.scale());
      }
      x = sources.get(hop.source()).layer(x, hop.layer(), k, pass);
    }
    return head.finalNorm(x);
  }
}
