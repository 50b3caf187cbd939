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
 * @param population candidates are whole populations merged ({@link PopulationSpec}: Evolver's
 *     evolve-then-merge mode; method and genes then describe one individual), or null
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
    DataFlowSpec dataFlow,
    PopulationSpec population)
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

  /**
   * A parameter-space spec with one value per source and gene, recording no examples; {@link
   * #toBuilder()} changes the rest.
   */
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
        null,
        null);
  }

  /** Genome length: one value per (source, gene, cell of the layout). */
  public int genomeLength() {
    return sourceUris.size() * genes.size() * layout.cells();
  }

  /** The same run scored on other tasks (the held-out evaluation). */
  public EvalSpec withTasks(List<TaskSpec> other) {
    return toBuilder().tasks(other).build();
  }

  /** The same run as a data-flow search described by {@code flow}. */
  public EvalSpec withDataFlow(DataFlowSpec flow) {
    return toBuilder().dataFlow(flow).build();
  }

  /**
   * The same sources merged by another method with one value per source and gene (a fixed merge
   * such as an untuned baseline), recording no examples.
   */
  public EvalSpec withMerge(
      String otherMethod, List<String> otherGenes, Map<String, Object> params) {
    return toBuilder()
        .method(otherMethod)
        .genes(otherGenes)
        .global(params)
        .recordExamples(false)
        .layout(GeneLayout.GLOBAL)
        .dataFlow(null)
        .population(null)
        .build();
  }

  /** The same run with candidates that are populations merged as {@code value} says. */
  public EvalSpec withPopulation(PopulationSpec value) {
    return toBuilder().population(value).build();
  }

  /** The normalised linear merge over the same sources: a genome of one weight per source. */
  public EvalSpec asNormalizedLinear() {
    return toBuilder()
        .baseUri(null)
        .versions(versions.subList(0, sourceUris.size()))
        .method("linear")
        .genes(List.of("weight"))
        .global(Map.of("normalize", true))
        .layout(GeneLayout.GLOBAL)
        .dataFlow(null)
        .population(null)
        .build();
  }

  /** A copy of this spec to change some of its components: {@code toBuilder().tasks(t).build()}. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /** Changes some components of a spec; the rest keep their values. */
  public static final class Builder {
    private final EvalSpec from;
    private List<String> sourceUris;
    private String baseUri;
    private List<String> versions;
    private String method;
    private List<String> genes;
    private Map<String, Object> global;
    private List<TaskSpec> tasks;
    private int batchSize;
    private boolean recordExamples;
    private GeneLayout layout;
    private DataFlowSpec dataFlow;
    private PopulationSpec population;

    private Builder(EvalSpec from) {
      this.from = from;
      this.sourceUris = from.sourceUris;
      this.baseUri = from.baseUri;
      this.versions = from.versions;
      this.method = from.method;
      this.genes = from.genes;
      this.global = from.global;
      this.tasks = from.tasks;
      this.batchSize = from.batchSize;
      this.recordExamples = from.recordExamples;
      this.layout = from.layout;
      this.dataFlow = from.dataFlow;
      this.population = from.population;
    }

    public Builder sourceUris(List<String> value) {
      this.sourceUris = value;
      return this;
    }

    public Builder baseUri(String value) {
      this.baseUri = value;
      return this;
    }

    public Builder versions(List<String> value) {
      this.versions = value;
      return this;
    }

    public Builder method(String value) {
      this.method = value;
      return this;
    }

    public Builder genes(List<String> value) {
      this.genes = value;
      return this;
    }

    public Builder global(Map<String, Object> value) {
      this.global = value;
      return this;
    }

    public Builder tasks(List<TaskSpec> value) {
      this.tasks = value;
      return this;
    }

    public Builder batchSize(int value) {
      this.batchSize = value;
      return this;
    }

    public Builder recordExamples(boolean value) {
      this.recordExamples = value;
      return this;
    }

    public Builder layout(GeneLayout value) {
      this.layout = value;
      return this;
    }

    public Builder dataFlow(DataFlowSpec value) {
      this.dataFlow = value;
      return this;
    }

    public Builder population(PopulationSpec value) {
      this.population = value;
      return this;
    }

    public EvalSpec build() {
      return new EvalSpec(
          sourceUris,
          baseUri,
          versions,
          from.tokenizerUri,
          method,
          genes,
          global,
          from.seed,
          tasks,
          from.maxLength,
          batchSize,
          from.hadoopConf,
          recordExamples,
          layout,
          dataFlow,
          population);
    }
  }
}
