package dev.evomerge.worker.eval;

import com.google.common.base.Preconditions;
import dev.evomerge.worker.merge.Seeds;
import dev.evomerge.worker.model.LayerPathModel;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * A data-flow-space search (Sakana's layer stacking): the genome and how executors read it.
 *
 * <p>Genome: an indicator over {@code T = r * (L_0 + ... + L_{M-1})} slots (every layer of the M
 * sources laid out in order, the whole list repeated {@code r} times; slot {@code t} is in the path
 * when its gene is {@code > 0}), then the {@code M x M} scaling matrix {@code W} row-major: the
 * hidden state passed from a layer of model {@code i} into a layer of model {@code j} is multiplied
 * by {@code W[i][j]}. The embedding model's first and last layers are fixed at the two ends of the
 * path, around the included slots in slot order; the first hop takes the embeddings unscaled.
 *
 * <p>A candidate may carry one more value after the genome: the dev mini-batch it is scored on
 * ({@code >= 0}), or {@link #HOLDOUT} for the held-out dev slice that chooses the snapshot; without
 * it the candidate is scored on every row. Rows are assigned to the held-out slice and to batches
 * by a hash of the run seed, task and row index, so every shard agrees.
 *
 * @param layers each source's decoder layer count, in source order
 * @param repeats {@code r}, how many times the layer list is repeated
 * @param embedding source giving the embeddings, tokenizer and the path's fixed ends
 * @param head source giving the final norm and LM head
 * @param miniBatches how many mini-batches the non-held-out dev rows are split into (1: all)
 * @param holdout fraction of dev rows held out to choose the snapshot (0: none)
 * @param seed run seed, for the row assignment
 */
public record DataFlowSpec(
    List<Integer> layers,
    int repeats,
    int embedding,
    int head,
    int miniBatches,
    double holdout,
    long seed)
    implements Serializable {
  /** The batch value of a candidate scored on the held-out dev slice. */
  public static final int HOLDOUT = -1;

  /** The batch value of a candidate scored on every row. */
  public static final int ALL = -2;

  public DataFlowSpec {
    layers = List.copyOf(layers);
    Preconditions.checkArgument(!layers.isEmpty(), "A data-flow search needs sources");
    Preconditions.checkArgument(repeats >= 1, "Invalid repeats: %s", repeats);
    Preconditions.checkArgument(
        0 <= embedding && embedding < layers.size(),
        "Invalid embedding model %s of %s sources",
        embedding,
        layers.size());
    Preconditions.checkArgument(
        0 <= head && head < layers.size(),
        "Invalid head model %s of %s sources",
        head,
        layers.size());
    Preconditions.checkArgument(
        layers.get(embedding) >= 2,
        "The embedding model has %s layers; its first and last are fixed at the ends, so it needs"
            + " at least 2",
        layers.get(embedding));
    Preconditions.checkArgument(miniBatches >= 1, "Invalid mini-batches: %s", miniBatches);
    Preconditions.checkArgument(0 <= holdout && holdout < 1, "Invalid holdout: %s", holdout);
  }

  /** {@code T}: indicator genes. */
  public int slots() {
    return repeats * layers.stream().mapToInt(Integer::intValue).sum();
  }

  /** Indicator genes then the scaling matrix. */
  public int genomeLength() {
    return slots() + layers.size() * layers.size();
  }

  /** Genome index of {@code W[from][to]}. */
  public int scaleGene(int from, int to) {
    return slots() + from * layers.size() + to;
  }

  /** The source and layer of slot {@code t}: {@code {source, layer}}. */
  public int[] slot(int t) {
    int perRepeat = slots() / repeats;
    int i = t % perRepeat;
    for (int s = 0; s < layers.size(); s++) {
      if (i < layers.get(s)) {
        return new int[] {s, i};
      }
      i -= layers.get(s);
    }
    throw new IllegalArgumentException("Invalid slot " + t);
  }

  /** The genome's path: fixed first layer, included slots, fixed last layer, each scaled by W. */
  public List<LayerPathModel.Hop> path(double[] genes) {
    Preconditions.checkArgument(
        genes.length == genomeLength() || genes.length == genomeLength() + 1,
        "Data-flow genome has %s genes; %s slots + %s scales need %s",
        genes.length,
        slots(),
        layers.size() * layers.size(),
        genomeLength());
    List<int[]> steps = new ArrayList<>();
    steps.add(new int[] {embedding, 0});
    for (int t = 0; t < slots(); t++) {
      if (genes[t] > 0) {
        steps.add(slot(t));
      }
    }
    steps.add(new int[] {embedding, layers.get(embedding) - 1});
    List<LayerPathModel.Hop> hops = new ArrayList<>();
    for (int k = 0; k < steps.size(); k++) {
      int[] s = steps.get(k);
      double scale = k == 0 ? 1.0 : genes[scaleGene(steps.get(k - 1)[0], s[0])];
      hops.add(new LayerPathModel.Hop(s[0], s[1], (float) scale));
    }
    return hops;
  }

  /** The genome whose path is the embedding model's own layers in order, every scale 1. */
  public double[] embeddingModelGenome(double off, double on) {
    double[] g = new double[genomeLength()];
    int start = layers.subList(0, embedding).stream().mapToInt(Integer::intValue).sum();
    for (int t = 0; t < slots(); t++) {
      g[t] = off;
    }
    for (int i = 1; i < layers.get(embedding) - 1; i++) {
      g[start + i] = on; // first repeat, between the fixed ends
    }
    for (int i = slots(); i < g.length; i++) {
      g[i] = 1.0;
    }
    return g;
  }

  /** The batch a candidate's genes name: the value after the genome, else {@link #ALL}. */
  public int batch(double[] genes) {
    return genes.length == genomeLength() + 1 ? (int) genes[genomeLength()] : ALL;
  }

  /** Whether {@code row} is scored in {@code batch}. */
  public boolean inBatch(TaskRow row, int batch) {
    if (batch == ALL) {
      return true;
    }
    long h = Seeds.forTensor(seed, row.task() + "#" + row.example().index());
    double u = (h >>> 11) * 0x1.0p-53;
    if (u < holdout) {
      return batch == HOLDOUT;
    }
    if (batch == HOLDOUT) {
      return false;
    }
    // the rest of [holdout, 1) split evenly into the mini-batches
    int bucket = (int) Math.min(miniBatches - 1, (u - holdout) / (1 - holdout) * miniBatches);
    return bucket == Math.floorMod(batch, miniBatches);
  }
}
