package dev.evomerge.worker.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code evomerge inspect} shows about a model folder, built from {@code config.json}, the
 * index and the shard headers only.
 *
 * @param uri the folder
 * @param shards number of safetensors files
 * @param tensorBytes bytes of tensor data
 * @param parameters total elements
 * @param dtypeBytes tensor bytes per dtype
 * @param tensors every tensor, in the folder's order
 * @param architecture what the config (or, failing that, the tensors) says about the network
 */
public record ModelSummary(
    String uri,
    int shards,
    long tensorBytes,
    long parameters,
    Map<DType, Long> dtypeBytes,
    List<Tensor> tensors,
    Architecture architecture) {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern LAYER = Pattern.compile("(?:^|\\.)(?:layers|h|blocks)\\.(\\d+)\\.");

  /**
   * One tensor.
   *
   * @param shard file name of the shard holding it
   */
  public record Tensor(String name, DType dtype, long[] shape, long bytes, String shard) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Tensor t
          && name.equals(t.name)
          && dtype == t.dtype
          && Arrays.equals(shape, t.shape)
          && bytes == t.bytes
          && shard.equals(t.shard);
    }

    @Override
    public int hashCode() {
      return name.hashCode();
    }

    @Override
    public String toString() {
      return name + ":" + dtype + Arrays.toString(shape);
    }
  }

  /**
   * The network's dimensions; -1 where neither config nor tensors tell.
   *
   * @param layersInTensors distinct layer indices seen in tensor names
   * @param tiedEmbeddings config's {@code tie_word_embeddings}, else whether {@code lm_head.weight}
   *     is absent
   */
  public record Architecture(
      String modelType,
      String architectures,
      int layers,
      int layersInTensors,
      int hiddenSize,
      int heads,
      int kvHeads,
      int vocabSize,
      boolean tiedEmbeddings) {}

  public static ModelSummary of(HfModelFolder model) {
    List<Tensor> tensors = new ArrayList<>();
    Map<DType, Long> byDtype = new TreeMap<>();
    long bytes = 0;
    long params = 0;
    for (TensorInfo t : model.tensors().values()) {
      tensors.add(
          new Tensor(
              t.name(),
              t.dtype(),
              t.shape(),
              t.byteSize(),
              model.shardOf(t.name()).path().getName()));
      byDtype.merge(t.dtype(), t.byteSize(), Long::sum);
      bytes += t.byteSize();
      params += t.numel();
    }
    return new ModelSummary(
        model.uri(),
        model.shards().size(),
        bytes,
        params,
        byDtype,
        List.copyOf(tensors),
        architecture(model.config(), model.tensors()));
  }

  static Architecture architecture(JsonNode cfg, Map<String, TensorInfo> tensors) {
    int layersInTensors = layersInTensors(tensors.keySet());
    int vocabFromTensors = -1;
    int hiddenFromTensors = -1;
    TensorInfo embed = tensors.get("model.embed_tokens.weight");
    if (embed == null) {
      embed = tensors.get("transformer.wte.weight");
    }
    if (embed != null && embed.shape().length == 2) {
      vocabFromTensors = (int) embed.shape()[0];
      hiddenFromTensors = (int) embed.shape()[1];
    }
    int heads = intOf(cfg, -1, "num_attention_heads", "n_head");
    JsonNode archs = cfg.get("architectures");
    return new Architecture(
        cfg.path("model_type").asText(""),
        archs != null && archs.isArray() && !archs.isEmpty() ? archs.get(0).asText() : "",
        intOf(cfg, layersInTensors, "num_hidden_layers", "n_layer", "num_layers"),
        layersInTensors,
        intOf(cfg, hiddenFromTensors, "hidden_size", "n_embd", "d_model"),
        heads,
        intOf(cfg, heads, "num_key_value_heads"),
        intOf(cfg, vocabFromTensors, "vocab_size"),
        cfg.has("tie_word_embeddings")
            ? cfg.get("tie_word_embeddings").asBoolean()
            : !tensors.containsKey("lm_head.weight"));
  }

  static int layersInTensors(Iterable<String> names) {
    java.util.Set<Integer> layers = new java.util.HashSet<>();
    for (String n : names) {
      Matcher m = LAYER.matcher(n);
      if (m.find()) {
        layers.add(Integer.parseInt(m.group(1)));
      }
    }
    return layers.isEmpty() ? -1 : layers.size();
  }

  private static int intOf(JsonNode cfg, int fallback, String... keys) {
    for (String k : keys) {
      JsonNode n = cfg.get(k);
      if (n != null && n.canConvertToInt()) {
        return n.asInt();
      }
      // multimodal configs nest the language model's settings
      JsonNode text = cfg.path("text_config").get(k);
      if (text != null && text.canConvertToInt()) {
        return text.asInt();
      }
    }
    return fallback;
  }

  public ObjectNode toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("uri", uri);
    root.put("shards", shards);
    root.put("tensor_bytes", tensorBytes);
    root.put("parameters", parameters);
    ObjectNode dt = root.putObject("dtype_bytes");
    dtypeBytes.forEach((k, v) -> dt.put(k.name(), v));
    ObjectNode a = root.putObject("architecture");
    a.put("model_type", architecture.modelType());
    a.put("architecture", architecture.architectures());
    a.put("layers", architecture.layers());
    a.put("layers_in_tensors", architecture.layersInTensors());
    a.put("hidden_size", architecture.hiddenSize());
    a.put("attention_heads", architecture.heads());
    a.put("kv_heads", architecture.kvHeads());
    a.put("vocab_size", architecture.vocabSize());
    a.put("tied_embeddings", architecture.tiedEmbeddings());
    ArrayNode ts = root.putArray("tensors");
    for (Tensor t : tensors) {
      ObjectNode o = ts.addObject();
      o.put("name", t.name());
      o.put("dtype", t.dtype().name());
      ArrayNode shape = o.putArray("shape");
      for (long d : t.shape()) {
        shape.add(d);
      }
      o.put("bytes", t.bytes());
      o.put("shard", t.shard());
    }
    return root;
  }

  public String toText() {
    StringBuilder b = new StringBuilder();
    Architecture a = architecture;
    b.append(String.format(Locale.ROOT, "Model %s%n", uri));
    b.append(
        String.format(
            Locale.ROOT,
            "  %s (%s): %d layers%s, hidden %d, %d heads, %d KV heads, vocab %d, embeddings %s%n",
            a.architectures().isEmpty() ? "unknown architecture" : a.architectures(),
            a.modelType().isEmpty() ? "?" : a.modelType(),
            a.layers(),
            a.layersInTensors() >= 0 && a.layersInTensors() != a.layers()
                ? " (" + a.layersInTensors() + " in tensors)"
                : "",
            a.hiddenSize(),
            a.heads(),
            a.kvHeads(),
            a.vocabSize(),
            a.tiedEmbeddings() ? "tied" : "untied"));
    b.append(
        String.format(
            Locale.ROOT,
            "  %d tensors, %,d parameters, %s in %d shard%s",
            tensors.size(),
            parameters,
            human(tensorBytes),
            shards,
            shards == 1 ? "" : "s"));
    dtypeBytes.forEach((k, v) -> b.append(String.format(Locale.ROOT, ", %s %s", k, human(v))));
    b.append(System.lineSeparator());
    int width = tensors.stream().mapToInt(t -> t.name().length()).max().orElse(4);
    for (Tensor t : tensors) {
      b.append(
          String.format(
              Locale.ROOT,
              "  %-" + width + "s  %-7s %-22s %10s  %s%n",
              t.name(),
              t.dtype(),
              Arrays.toString(t.shape()),
              human(t.bytes()),
              t.shard()));
    }
    return b.toString();
  }

  static String human(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
