package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the genes of a merge search mean: a merge method, which of its parameters are genes, at
 * which granularity, and how a genome decodes to a {@link MergeRecipe} (and a recipe encodes back).
 *
 * <p>Genes per parameter: per-model parameters ({@code weight}, {@code density}, {@code epsilon},
 * {@code gamma}) have one gene per model and cell, global ones ({@code lambda}, {@code t}) one per
 * cell. A cell is a (layer group, name filter) pair: layer groups are contiguous blocks of {@code
 * groupSize} layers (the last one shorter when the count does not divide), or one group covering
 * everything; filters are name substrings ({@code self_attn}, {@code mlp}) plus the rest. With
 * {@code smooth}, the groups' genes are gradient anchors over depth instead of steps. The cells are
 * also the crossover blocks of the {@link #bounds()}.
 *
 * <p>With {@link Parameterisation#SOFTMAX} the weight genes are logits and a cell's weights are
 * their softmax over the models, so they sum to 1 (EvoGM); otherwise weights are raw bounded values
 * and need not sum to anything (Sakana's evolved weights summed to about 2).
 *
 * <p>The methods and parameters known here mirror the merge engine's registry (see {@code
 * docs/merge-methods.md}); the search package does not depend on the engine.
 */
public final class GenomeSpace {
  public enum Parameterisation {
    RAW,
    SOFTMAX
  }

  /** A parameter that is a gene, with the bounds of its genes (logits for softmax weights). */
  public record GeneParam(String name, double lower, double upper) {}

  /** Layers {@code [start, end)}. */
  public record LayerGroup(int start, int end) {}

  /**
   * One gene: its parameter, model index ({@code -1} for a global parameter), layer group, filter
   * index ({@code filters().size()} for the rest), and a readable name.
   */
  public record Gene(String param, int model, int group, int filter, String name) {}

  static final Set<String> PER_MODEL = Set.of("weight", "density", "epsilon", "gamma");
  static final Set<String> GLOBAL = Set.of("lambda", "t");

  /** The evolvable parameters of each method. */
  static final Map<String, Set<String>> METHOD_GENES =
      Map.ofEntries(
          Map.entry("linear", Set.of("weight")),
          Map.entry("task_arithmetic", Set.of("weight", "lambda")),
          Map.entry("ties", Set.of("weight", "density", "lambda")),
          Map.entry("dare_linear", Set.of("weight", "density", "lambda")),
          Map.entry("dare_ties", Set.of("weight", "density", "lambda")),
          Map.entry("breadcrumbs", Set.of("weight", "density", "gamma", "lambda")),
          Map.entry("breadcrumbs_ties", Set.of("weight", "density", "gamma", "lambda")),
          Map.entry("della", Set.of("weight", "density", "epsilon", "lambda")),
          Map.entry("della_linear", Set.of("weight", "density", "epsilon", "lambda")),
          Map.entry("slerp", Set.of("t")),
          Map.entry("nuslerp", Set.of("weight")),
          Map.entry("multislerp", Set.of("weight")),
          Map.entry("nearswap", Set.of("t")),
          Map.entry("model_stock", Set.of()),
          Map.entry("karcher", Set.of()),
          Map.entry("sce", Set.of()),
          Map.entry("fisher", Set.of()),
          Map.entry("regmean", Set.of()));

  static final Set<String> NO_BASE =
      Set.of("linear", "nuslerp", "multislerp", "karcher", "fisher", "regmean");

  /** mergekit's defaults, used when encoding a recipe that leaves a gene's parameter unset. */
  static final Map<String, Double> DEFAULTS =
      Map.of(
          "weight", 1.0, "density", 1.0, "epsilon", 0.15, "gamma", 0.01, "lambda", 1.0, "t", 0.5);

  private final String method;
  private final String baseModel;
  private final List<String> models;
  private final List<GeneParam> params;
  private final int numLayers;
  private final List<LayerGroup> groups;
  private final List<String> filters;
  private final boolean smooth;
  private final Parameterisation parameterisation;
  private final Map<String, ParamValue> fixed;
  private final String dtype;
  private final List<Gene> genes = new ArrayList<>();
  private final Bounds bounds;

  private GenomeSpace(Builder b) {
    Preconditions.checkArgument(
        METHOD_GENES.containsKey(b.method),
        "Unknown merge method '%s'; did you mean '%s'?",
        b.method,
        Names.nearest(b.method, METHOD_GENES.keySet()));
    Preconditions.checkArgument(!b.models.isEmpty(), "A genome space needs models");
    Preconditions.checkArgument(
        Set.copyOf(b.models).size() == b.models.size(), "Duplicate models: %s", b.models);
    Preconditions.checkArgument(
        NO_BASE.contains(b.method) || b.baseModel != null,
        "Merge method %s needs a base model",
        b.method);
    Preconditions.checkArgument(
        !b.method.equals("slerp") || b.models.size() == 1,
        "slerp merges the base with exactly one other model, got %s",
        b.models);
    Preconditions.checkArgument(!b.params.isEmpty(), "No parameter is a gene");
    Set<String> allowed = METHOD_GENES.get(b.method);
    for (GeneParam p : b.params) {
      Preconditions.checkArgument(
          allowed.contains(p.name()),
          "Parameter %s is not a gene of %s (evolvable: %s)",
          p.name(),
          b.method,
          allowed);
      Preconditions.checkArgument(
          p.lower() < p.upper(), "Invalid bounds for %s: [%s, %s]", p.name(), p.lower(), p.upper());
      if (p.name().equals("density")) {
        Preconditions.checkArgument(
            p.lower() >= 0 && p.upper() <= 1,
            "Invalid density bounds: [%s, %s]",
            p.lower(),
            p.upper());
      }
    }
    Preconditions.checkArgument(
        b.params.stream().map(GeneParam::name).distinct().count() == b.params.size(),
        "A parameter is named twice as a gene");
    Preconditions.checkArgument(
        b.parameterisation == Parameterisation.RAW
            || (b.params.stream().anyMatch(p -> p.name().equals("weight")) && b.models.size() > 1),
        "Softmax weights need a weight gene and at least two models");
    Preconditions.checkArgument(b.numLayers >= 0, "Invalid layer count: %s", b.numLayers);
    Preconditions.checkArgument(b.groupSize >= 0, "Invalid layer group size: %s", b.groupSize);
    Preconditions.checkArgument(
        b.groupSize == 0 || b.numLayers > 0, "Layer groups need the number of layers");
    for (String f : b.filters) {
      Preconditions.checkArgument(f != null && !f.isEmpty(), "Empty name filter");
    }
    Preconditions.checkArgument(
        Set.copyOf(b.filters).size() == b.filters.size(), "Duplicate filters: %s", b.filters);
    this.method = b.method;
    this.baseModel = b.baseModel;
    this.models = List.copyOf(b.models);
    this.params = List.copyOf(b.params);
    this.numLayers = b.numLayers;
    this.groups = partition(b.numLayers, b.groupSize);
    this.filters = List.copyOf(b.filters);
    this.smooth = b.smooth;
    this.parameterisation = b.parameterisation;
    this.fixed = Map.copyOf(b.fixed);
    this.dtype = b.dtype;

    List<Double> lower = new ArrayList<>();
    List<Double> upper = new ArrayList<>();
    List<Integer> blocks = new ArrayList<>();
    int cells = filters.size() + 1;
    for (GeneParam p : params) {
      int modelCount = PER_MODEL.contains(p.name()) ? models.size() : 1;
      for (int m = 0; m < modelCount; m++) {
        for (int g = 0; g < groups.size(); g++) {
          for (int f = 0; f < cells; f++) {
            int model = PER_MODEL.contains(p.name()) ? m : -1;
            genes.add(new Gene(p.name(), model, g, f, geneName(p.name(), model, g, f)));
            lower.add(p.lower());
            upper.add(p.upper());
            blocks.add(g * cells + f);
          }
        }
      }
    }
    this.bounds =
        new Bounds(
            lower.stream().mapToDouble(Double::doubleValue).toArray(),
            upper.stream().mapToDouble(Double::doubleValue).toArray(),
            blocks.stream().mapToInt(Integer::intValue).toArray());
  }

  /**
   * Contiguous groups of {@code size} layers, the last one shorter when {@code layers} is not a
   * multiple; one group of everything when {@code size} is 0 or at least {@code layers}.
   */
  static List<LayerGroup> partition(int layers, int size) {
    if (size == 0 || size >= layers) {
      return List.of(new LayerGroup(0, Math.max(layers, 1)));
    }
    List<LayerGroup> out = new ArrayList<>();
    for (int start = 0; start < layers; start += size) {
      out.add(new LayerGroup(start, Math.min(layers, start + size)));
    }
    return out;
  }

  private String geneName(String param, int model, int group, int filter) {
    StringBuilder s = new StringBuilder(param);
    if (model >= 0) {
      s.append("[model=").append(model).append(']');
    }
    if (groups.size() > 1) {
      LayerGroup lg = groups.get(group);
      if (smooth) {
        s.append("[anchor ").append(group).append(']');
      } else {
        s.append("[layers ").append(lg.start()).append('-').append(lg.end() - 1).append(']');
      }
    }
    if (!filters.isEmpty()) {
      s.append('[').append(filter < filters.size() ? filters.get(filter) : "rest").append(']');
    }
    return s.toString();
  }

  public static Builder builder(String method, List<String> models) {
    return new Builder(method, models);
  }

  public int dimension() {
    return genes.size();
  }

  public Bounds bounds() {
    return bounds;
  }

  public List<Gene> genes() {
    return List.copyOf(genes);
  }

  public List<String> geneNames() {
    return genes.stream().map(Gene::name).toList();
  }

  public List<LayerGroup> layerGroups() {
    return groups;
  }

  public List<String> models() {
    return models;
  }

  public List<String> filters() {
    return filters;
  }

  public String method() {
    return method;
  }

  public Parameterisation parameterisation() {
    return parameterisation;
  }

  /** Per-model parameter values per cell, after softmax: {@code [param][model][group][filter]}. */
  private double[][][][] values(Genome genome) {
    bounds.checkGenome(genome, "The genome");
    int cells = filters.size() + 1;
    double[][][][] v = new double[params.size()][][][];
    int i = 0;
    for (int p = 0; p < params.size(); p++) {
      int modelCount = PER_MODEL.contains(params.get(p).name()) ? models.size() : 1;
      v[p] = new double[modelCount][groups.size()][cells];
      for (int m = 0; m < modelCount; m++) {
        for (int g = 0; g < groups.size(); g++) {
          for (int f = 0; f < cells; f++) {
            v[p][m][g][f] = genome.gene(i++);
          }
        }
      }
      if (params.get(p).name().equals("weight") && parameterisation == Parameterisation.SOFTMAX) {
        for (int g = 0; g < groups.size(); g++) {
          for (int f = 0; f < cells; f++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int m = 0; m < modelCount; m++) {
              max = Math.max(max, v[p][m][g][f]);
            }
            double sum = 0;
            for (int m = 0; m < modelCount; m++) {
              sum += StrictMath.exp(v[p][m][g][f] - max);
            }
            double[] w = new double[modelCount];
            for (int m = 0; m < modelCount; m++) {
              w[m] = StrictMath.exp(v[p][m][g][f] - max) / sum;
            }
            for (int m = 0; m < modelCount; m++) {
              v[p][m][g][f] = w[m];
            }
          }
        }
      }
    }
    return v;
  }

  /** The recipe a genome stands for. */
  public MergeRecipe decode(Genome genome) {
    double[][][][] v = values(genome);
    boolean sliced = groups.size() > 1 && !smooth;
    Map<String, ParamValue> top = new LinkedHashMap<>(fixed);
    if (!sliced) {
      List<MergeRecipe.ModelEntry> entries = new ArrayList<>();
      for (int m = 0; m < models.size(); m++) {
        Map<String, ParamValue> mp = new LinkedHashMap<>();
        for (int p = 0; p < params.size(); p++) {
          if (PER_MODEL.contains(params.get(p).name())) {
            mp.put(params.get(p).name(), cellValue(v[p][m], -1));
          }
        }
        entries.add(new MergeRecipe.ModelEntry(models.get(m), mp));
      }
      for (int p = 0; p < params.size(); p++) {
        if (GLOBAL.contains(params.get(p).name())) {
          top.put(params.get(p).name(), cellValue(v[p][0], -1));
        }
      }
      return new MergeRecipe(method, baseModel, top, entries, List.of(), dtype);
    }
    List<MergeRecipe.Slice> slices = new ArrayList<>();
    for (int g = 0; g < groups.size(); g++) {
      LayerGroup lg = groups.get(g);
      List<MergeRecipe.SliceSource> sources = new ArrayList<>();
      if (baseModel != null && !models.contains(baseModel)) {
        sources.add(new MergeRecipe.SliceSource(baseModel, lg.start(), lg.end(), Map.of()));
      }
      for (int m = 0; m < models.size(); m++) {
        Map<String, ParamValue> mp = new LinkedHashMap<>();
        for (int p = 0; p < params.size(); p++) {
          if (PER_MODEL.contains(params.get(p).name())) {
            mp.put(params.get(p).name(), cellValue(v[p][m], g));
          }
        }
        sources.add(new MergeRecipe.SliceSource(models.get(m), lg.start(), lg.end(), mp));
      }
      Map<String, ParamValue> sp = new LinkedHashMap<>();
      for (int p = 0; p < params.size(); p++) {
        if (GLOBAL.contains(params.get(p).name())) {
          sp.put(params.get(p).name(), cellValue(v[p][0], g));
        }
      }
      slices.add(new MergeRecipe.Slice(sources, sp));
    }
    return new MergeRecipe(method, baseModel, top, List.of(), slices, dtype);
  }

  /**
   * One (param, model)'s value: for group {@code g}, or over all groups ({@code g < 0}: a scalar
   * for one group, a gradient of the anchors otherwise), wrapped in a filter list when filtered.
   */
  private ParamValue cellValue(double[][] byGroupFilter, int g) {
    List<ParamValue> perFilter = new ArrayList<>();
    for (int f = 0; f <= filters.size(); f++) {
      if (g >= 0 || groups.size() == 1) {
        perFilter.add(new ParamValue.Scalar(byGroupFilter[Math.max(g, 0)][f]));
      } else {
        List<Double> anchors = new ArrayList<>();
        for (double[] group : byGroupFilter) {
          anchors.add(group[f]);
        }
        perFilter.add(new ParamValue.Gradient(anchors));
      }
    }
    if (filters.isEmpty()) {
      return perFilter.get(0);
    }
    List<ParamValue.FilterEntry> entries = new ArrayList<>();
    for (int f = 0; f <= filters.size(); f++) {
      entries.add(
          new ParamValue.FilterEntry(f < filters.size() ? filters.get(f) : null, perFilter.get(f)));
    }
    return new ParamValue.Filtered(entries);
  }

  /**
   * The genome closest to a recipe, to seed a run from a hand-written one. Each gene takes the
   * recipe's value where its cell sits: at the group's middle layer (or, when smooth, at the
   * anchor's depth), for a tensor whose name contains the cell's filter (the rest: a layer norm),
   * with mergekit's precedence (per source in a slice, per slice, per model, top level) and its
   * defaults for unset parameters. Values outside the bounds are clamped (this is encoding, not
   * search); softmax weights become log-weights centred in the bounds, so only their ratios carry
   * over.
   */
  public Genome encode(MergeRecipe recipe) {
    Preconditions.checkArgument(
        recipe.method().equals(method),
        "Recipe method %s does not match the space's %s",
        recipe.method(),
        method);
    double[] x = new double[genes.size()];
    for (int i = 0; i < x.length; i++) {
      Gene gene = genes.get(i);
      double value = lookup(recipe, gene);
      if (!Double.isFinite(value)) {
        value = DEFAULTS.get(gene.param());
      }
      x[i] = value;
    }
    if (parameterisation == Parameterisation.SOFTMAX) {
      int cells = groups.size() * (filters.size() + 1);
      int first = firstWeightGene();
      for (int cell = 0; cell < cells; cell++) {
        double[] w = new double[models.size()];
        for (int m = 0; m < w.length; m++) {
          w[m] = x[first + m * cells + cell];
        }
        double[] logits = logits(w, bounds.lower(first), bounds.upper(first));
        for (int m = 0; m < w.length; m++) {
          x[first + m * cells + cell] = logits[m];
        }
      }
    }
    for (int i = 0; i < x.length; i++) {
      x[i] = Math.min(bounds.upper(i), Math.max(bounds.lower(i), x[i]));
    }
    return new Genome(x);
  }

  private int firstWeightGene() {
    int first = 0;
    while (!genes.get(first).param().equals("weight")) {
      first++;
    }
    return first;
  }

  /**
   * Logits whose softmax is {@code weights}: the logs, shifted (softmax ignores shifts) so they sit
   * in the middle of the bounds, then clamped where their spread exceeds the bounds.
   */
  private static double[] logits(double[] weights, double lower, double upper) {
    double[] out = new double[weights.length];
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (int m = 0; m < out.length; m++) {
      Preconditions.checkArgument(
          weights[m] >= 0, "Negative weight %s cannot be a softmax weight", weights[m]);
      out[m] = StrictMath.log(Math.max(weights[m], 1e-12));
      min = Math.min(min, out[m]);
      max = Math.max(max, out[m]);
    }
    double shift = (lower + upper) / 2 - (min + max) / 2;
    for (int m = 0; m < out.length; m++) {
      out[m] = Math.min(upper, Math.max(lower, out[m] + shift));
    }
    return out;
  }

  private double lookup(MergeRecipe recipe, Gene gene) {
    LayerGroup lg = groups.get(gene.group());
    int layer;
    double t;
    if (smooth && groups.size() > 1) {
      t = (double) gene.group() / (groups.size() - 1);
      layer = (int) Math.round(t * (Math.max(numLayers, 1) - 1));
    } else {
      layer = (lg.start() + lg.end() - 1) / 2;
      // without a layer count, a global gene stands for the middle of the model
      t = numLayers > 1 ? (lg.start() + lg.end() - 1) / 2.0 / (numLayers - 1) : 0.5;
    }
    String tensor =
        gene.filter() < filters.size()
            ? "model.layers." + layer + "." + filters.get(gene.filter()) + ".weight"
            : "model.layers." + layer + ".input_layernorm.weight";
    String model = gene.model() >= 0 ? models.get(gene.model()) : null;
    if (!recipe.slices().isEmpty()) {
      for (MergeRecipe.Slice slice : recipe.slices()) {
        for (MergeRecipe.SliceSource src : slice.sources()) {
          if (layer < src.layerStart() || layer >= src.layerEnd()) {
            continue;
          }
          int span = src.layerEnd() - src.layerStart();
          double ts = span > 1 ? (double) (layer - src.layerStart()) / (span - 1) : 0;
          if (model != null
              && src.model().equals(model)
              && src.parameters().containsKey(gene.param())) {
            return src.parameters().get(gene.param()).valueAt(ts, tensor);
          }
          if ((model == null || src.model().equals(model))
              && slice.parameters().containsKey(gene.param())) {
            return slice.parameters().get(gene.param()).valueAt(ts, tensor);
          }
        }
      }
    } else if (model != null) {
      for (MergeRecipe.ModelEntry e : recipe.models()) {
        if (e.model().equals(model) && e.parameters().containsKey(gene.param())) {
          return e.parameters().get(gene.param()).valueAt(t, tensor);
        }
      }
    }
    ParamValue top = recipe.parameters().get(gene.param());
    return top == null ? Double.NaN : top.valueAt(t, tensor);
  }

  /** The uniform average: equal weights (softmax: equal logits), other genes at their centre. */
  public Genome uniformGenome() {
    return biased(-1, 0);
  }

  /**
   * A genome favouring one source: its weight {@code share}, the others sharing the rest equally;
   * {@code share = 1} is the source itself (one-hot, as far as the bounds allow).
   */
  public Genome sourceBiasedGenome(int model, double share) {
    Preconditions.checkArgument(
        model >= 0 && model < models.size(), "Invalid model index: %s", model);
    Preconditions.checkArgument(share >= 0 && share <= 1, "Invalid source share: %s", share);
    return biased(model, share);
  }

  private Genome biased(int model, double share) {
    double[] w = new double[models.size()];
    for (int m = 0; m < w.length; m++) {
      w[m] =
          model < 0 ? 1.0 / w.length : m == model ? share : (1 - share) / Math.max(1, w.length - 1);
    }
    double[] x = bounds.center();
    if (params.stream().noneMatch(p -> p.name().equals("weight"))) {
      return new Genome(x);
    }
    int first = firstWeightGene();
    int cells = groups.size() * (filters.size() + 1);
    double[] values =
        parameterisation == Parameterisation.SOFTMAX
            ? logits(w, bounds.lower(first), bounds.upper(first))
            : w;
    for (int m = 0; m < w.length; m++) {
      for (int cell = 0; cell < cells; cell++) {
        int i = first + m * cells + cell;
        x[i] = Math.min(bounds.upper(i), Math.max(bounds.lower(i), values[m]));
      }
    }
    return new Genome(x);
  }

  /** The uniform genome, then one per source (one-hot) when weights are genes. */
  public List<Genome> seedGenomes() {
    return seedGenomes(1.0);
  }

  /**
   * The uniform genome, then, for each share in turn, one genome per source biased to it with that
   * share (1 = the source itself) - EvoGM's mix of uniform and source-biased individuals.
   */
  public List<Genome> seedGenomes(double... shares) {
    List<Genome> out = new ArrayList<>();
    out.add(uniformGenome());
    if (params.stream().anyMatch(p -> p.name().equals("weight"))) {
      for (double share : shares) {
        for (int m = 0; m < models.size(); m++) {
          Genome g = sourceBiasedGenome(m, share);
          if (!out.contains(g)) {
            out.add(g);
          }
        }
      }
    }
    return out;
  }

  /** Builds a {@link GenomeSpace}; see the class comment for the meaning of each setting. */
  public static final class Builder {
    private final String method;
    private final List<String> models;
    private String baseModel;
    private final List<GeneParam> params = new ArrayList<>();
    private int numLayers;
    private int groupSize;
    private final List<String> filters = new ArrayList<>();
    private boolean smooth;
    private Parameterisation parameterisation = Parameterisation.RAW;
    private final Map<String, ParamValue> fixed = new LinkedHashMap<>();
    private String dtype;

    private Builder(String method, List<String> models) {
      this.method = method;
      this.models = List.copyOf(models);
    }

    public Builder baseModel(String baseModel) {
      this.baseModel = baseModel;
      return this;
    }

    /** Makes {@code param} a gene with these bounds (logit bounds for softmax weights). */
    public Builder gene(String param, double lower, double upper) {
      params.add(new GeneParam(param, lower, upper));
      return this;
    }

    /** Per layer group of {@code groupSize} layers out of {@code numLayers}; 0 = global. */
    public Builder layerGroups(int numLayers, int groupSize) {
      this.numLayers = numLayers;
      this.groupSize = groupSize;
      return this;
    }

    public Builder filters(String... filters) {
      this.filters.addAll(List.of(filters));
      return this;
    }

    public Builder smooth(boolean smooth) {
      this.smooth = smooth;
      return this;
    }

    public Builder parameterisation(Parameterisation p) {
      this.parameterisation = p;
      return this;
    }

    /** A parameter that is not evolved, written at the top level of every recipe. */
    public Builder fixed(String param, ParamValue value) {
      fixed.put(param, value);
      return this;
    }

    public Builder dtype(String dtype) {
      this.dtype = dtype;
      return this;
    }

    public GenomeSpace build() {
      return new GenomeSpace(this);
    }
  }
}
