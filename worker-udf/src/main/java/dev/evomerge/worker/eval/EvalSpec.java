package dev.evomerge.worker.eval;

import dev.evomerge.worker.score.TaskSpec;
import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * What every executor needs to know once per run (broadcast once, a few hundred bytes).
 *
 * @param sourceUris absolute URIs of the source model folders, in genome order
 * @param baseUri the base model (task vectors are {@code source - base}), or null
 * @param versions identities ({@code HfModelFolder.versionKey()}) of the sources, then of the base,
 *     taken by the driver's checks: an executor whose resident copy has these identities reads
 *     nothing from storage, and one that loads refuses sources that changed since
 * @param tokenizerUri URI of the {@code tokenizer.json} to score with
 * @param method merge method, by its mergekit name
 * @param genes the per-model parameters a genome holds, model-major: genome index {@code i *
 *     genes.size() + j} is parameter {@code genes[j]} of source {@code i}
 * @param global the method's global parameters the user fixed ({@code normalize}, {@code lambda};
 *     Double or Boolean); the rest take the method's defaults
 * @param seed seed of random drops (DARE, DELLA), recorded in the exported recipe
 * @param tasks the dev tasks every candidate is scored on (rows travel in the shards)
 * @param maxLength longest token sequence scored, BOS included
 * @param batchSize rows per forward pass; 0 chooses it on the executor from free memory ({@link
 *     dev.evomerge.worker.score.BatchSizing#automatic})
 * @param hadoopConf Hadoop settings (for example {@code fs.s3a.*}) executors open files with
 * @param recordExamples executors send back each row's results ({@code ExampleScores}) with the
 *     partial sums, for the run's {@code examples.jsonl}
 * @param layout how the genes spread over layer groups and tensor-name filters ({@link
 *     GeneLayout#GLOBAL}: one value per source and gene)
 * @param dataFlow a data-flow-space search (candidates are layer paths over the sources, not
 *     merges; method and genes then only serve the baselines), or null
 */
public record EvalSpec(
    List<String> sourceUris,
    String baseUri,
    List<String> versions,
    String tokenizerUri,
    String method,
    List<String> genes,
    Map<String, Object> global,
    long seed,
    List<TaskSpec> tasks,
    int maxLength,
    int batchSize,
    Map<String, String> hadoopConf,
    boolean recordExamples,
    GeneLayout layout,
    DataFlowSpec dataFlow)
    implements Serializable {
  public EvalSpec {
    layout = layout == null ? GeneLayout.GLOBAL : layout;
    sourceUris = List.copyOf(sourceUris);
    versions = List.copyOf(versions);
    genes = List.copyOf(genes);
    global = Map.copyOf(global);
    tasks = List.copyOf(tasks);
    hadoopConf = Map.copyOf(hadoopConf);
  }

  /** A spec with the plain layout: one value per source and gene. */
  public EvalSpec(
      List<String> sourceUris,
      String baseUri,
      List<String> versions,
      String tokenizerUri,
      String method,
      List<String> genes,
      Map<String, Object> global,
      long seed,
      List<TaskSpec> tasks,
      int maxLength,
      int batchSize,
      Map<String, String> hadoopConf,
      boolean recordExamples) {
    this(
        sourceUris,
        baseUri,
        versions,
        tokenizerUri,
        method,
        genes,
        global,
        seed,
        tasks,
        maxLength,
        batchSize,
        hadoopConf,
        recordExamples,
        GeneLayout.GLOBAL,
        null);
  }

  /** A spec with the plain layout (one value per source and gene) that records no examples. */
  public EvalSpec(
      List<String> sourceUris,
      String baseUri,
      List<String> versions,
      String tokenizerUri,
      String method,
      List<String> genes,
      Map<String, Object> global,
      long seed,
      List<TaskSpec> tasks,
      int maxLength,
      int batchSize,
      Map<String, String> hadoopConf) {
    this(
        sourceUris,
        baseUri,
        versions,
        tokenizerUri,
        method,
        genes,
        global,
        seed,
        tasks,
        maxLength,
        batchSize,
        hadoopConf,
        false,
        GeneLayout.GLOBAL,
        null);
  }

  /** Genome length: one value per (source, gene, cell of the layout). */
  public int genomeLength() {
    return sourceUris.size() * genes.size() * layout.cells();
  }

  /** The same run scored on other tasks (the held-out evaluation). */
  public EvalSpec withTasks(List<TaskSpec> other) {
    return new EvalSpec(
        sourceUris,
        baseUri,
        versions,
        tokenizerUri,
        method,
        genes,
        global,
        seed,
        other,
        maxLength,
        batchSize,
        hadoopConf,
        recordExamples,
        layout,
        dataFlow);
  }

  /** A parameter-space search (no data-flow part). */
  public EvalSpec(
      List<String> sourceUris,
      String baseUri,
      List<String> versions,
      String tokenizerUri,
      String method,
      List<String> genes,
      Map<String, Object> global,
      long seed,
      List<TaskSpec> tasks,
      int maxLength,
      int batchSize,
      Map<String, String> hadoopConf,
      boolean recordExamples,
      GeneLayout layout) {
    this(
        sourceUris,
        baseUri,
        versions,
        tokenizerUri,
        method,
        genes,
        global,
        seed,
        tasks,
        maxLength,
        batchSize,
        hadoopConf,
        recordExamples,
        layout,
        null);
  }

  /** The same run as a data-flow search described by {@code flow}. */
  public EvalSpec withDataFlow(DataFlowSpec flow) {
    return new EvalSpec(
        sourceUris,
        baseUri,
        versions,
        tokenizerUri,
        method,
        genes,
        global,
        seed,
        tasks,
        maxLength,
        batchSize,
        hadoopConf,
        recordExamples,
        layout,
        flow);
  }

  /** The same sources and tasks merged with another method, genes and global parameters. */
  public EvalSpec withMerge(
      String otherMethod, List<String> otherGenes, Map<String, Object> params) {
    return new EvalSpec(
        sourceUris,
        baseUri,
        versions,
        tokenizerUri,
        otherMethod,
        otherGenes,
        params,
        seed,
        tasks,
        maxLength,
        batchSize,
        hadoopConf);
  }

  /** The normalised linear merge over the same sources: a genome of one weight per source. */
  public EvalSpec asNormalizedLinear() {
    return new EvalSpec(
        sourceUris,
        null,
        versions.subList(0, sourceUris.size()),
        tokenizerUri,
        "linear",
        List.of("weight"),
        Map.of("normalize", true),
        seed,
        tasks,
        maxLength,
        batchSize,
        hadoopConf,
        recordExamples,
        GeneLayout.GLOBAL,
        null);
  }
}
