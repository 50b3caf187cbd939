package dev.evomerge.driver.config;

import java.util.List;
import java.util.Map;

/**
 * The typed, validated settings of one run, read from {@code evomerge.*} and {@code spark.*}.
 *
 * @param renderedConfig the whole effective configuration as HOCON, kept in the run folder
 * @param recordExamples {@code evomerge.run.record-examples}: each candidate's per-row results go
 *     to the run folder's {@code examples.jsonl}
 * @param dataFlow {@code evomerge.search.dataflow.*} when {@code evomerge.search.space = dataflow},
 *     else null (a parameter-space search)
 * @param maxShardBytes {@code evomerge.merge.max-shard-size}: the largest shard of {@code best/}
 */
public record RunSettings(
    String name,
    String outputRoot,
    long seed,
    int generations,
    List<String> sources,
    String base,
    String tokenizerSource,
    String mergeMethod,
    List<String> genes,
    Map<String, Object> mergeParameters,
    String outDtype,
    SearchSettings search,
    EvalSettings eval,
    Map<String, String> spark,
    String renderedConfig,
    boolean recordExamples,
    LayoutSettings layout,
    DataFlowSettings dataFlow,
    long maxShardBytes,
    FinalMergeSettings finalMerge) {

  public RunSettings {
    layout = layout == null ? LayoutSettings.GLOBAL : layout;
    sources = List.copyOf(sources);
    genes = List.copyOf(genes);
    mergeParameters = Map.copyOf(mergeParameters);
    spark = Map.copyOf(spark);
    finalMerge = finalMerge == null ? FinalMergeSettings.NONE : finalMerge;
  }

  /**
   * {@code evomerge.search.final-merge}, its parameters, and {@code evomerge.statistics.*}: the
   * merge of an Evolver population and the sources' statistics it weighs with.
   *
   * @param method none, average, fisher or regmean
   * @param parameters the method's global parameters
   * @param data per source, its statistics data (JSON lines); empty: each source's train.jsonl
   * @param maxRows rows per source (0: all)
   * @param maxLength tokens per row
   * @param shards Spark partitions of the statistics job
   * @param maxGramBytes bound on each source's Gram matrices
   * @param gramBlock 0, or the block size of block-diagonal Gram matrices of large layers
   */
  public record FinalMergeSettings(
      String method,
      Map<String, Object> parameters,
      List<String> data,
      int maxRows,
      int maxLength,
      int shards,
      long maxGramBytes,
      int gramBlock) {
    public static final FinalMergeSettings NONE =
        new FinalMergeSettings("none", Map.of(), List.of(), 256, 128, 4, 8L << 30, 0);

    public FinalMergeSettings {
      parameters = Map.copyOf(parameters);
      data = List.copyOf(data);
    }

    /** Whether the merge weighs with statistics (fisher, regmean). */
    public boolean needsStatistics() {
      return method.equals("fisher") || method.equals("regmean");
    }
  }

  /**
   * {@code evomerge.merge.layer-groups}, {@code .filters}, {@code .softmax}: how the genes spread
   * over the model.
   */
  public record LayoutSettings(int layerGroups, List<String> filters, boolean softmax) {
    public static final LayoutSettings GLOBAL = new LayoutSettings(1, List.of(), false);

    public LayoutSettings {
      filters = List.copyOf(filters);
    }

    /** Values per source and gene: one per (layer group, filter or the rest). */
    public int cells() {
      return layerGroups * (filters.size() + 1);
    }
  }

  /** {@code evomerge.search.*}. */
  public record SearchSettings(
      String strategy,
      Map<String, Object> options,
      double lower,
      double upper,
      boolean seedWithSources,
      long maxEvaluations,
      int plateauGenerations,
      double plateauThreshold) {
    public SearchSettings {
      options = Map.copyOf(options);
    }
  }

  /** {@code evomerge.eval.*}. */
  public record EvalSettings(
      String devSet,
      List<Map<String, Object>> tasks,
      String testSet,
      List<Map<String, Object>> testTasks,
      int shards,
      int maxLength,
      /** rows per forward pass; 0: chosen on each executor from its free memory */
      int batchSize,
      double gpusPerTask) {}

  /**
   * {@code evomerge.search.dataflow.*}: a search over layer paths through the sources (Sakana's
   * data-flow space) instead of over merge weights.
   *
   * @param repeats how many times the sources' layer list is repeated ({@code r})
   * @param embeddingModel index of the source giving embeddings, tokenizer and the path's ends
   * @param headModel index of the source giving the final norm and LM head
   * @param miniBatches dev mini-batches, one per generation in turn
   * @param holdout fraction of dev rows held out to choose the snapshot
   * @param scaleLower lower bound of the scaling matrix's genes
   * @param scaleUpper upper bound of the scaling matrix's genes
   */
  public record DataFlowSettings(
      int repeats,
      int embeddingModel,
      int headModel,
      int miniBatches,
      double holdout,
      double scaleLower,
      double scaleUpper) {}
}
