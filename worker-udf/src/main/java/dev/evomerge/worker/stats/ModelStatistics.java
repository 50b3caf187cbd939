package dev.evomerge.worker.stats;

import com.google.common.base.Preconditions;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.merge.MergeStatistics;
import dev.evomerge.worker.merge.StatisticsFolder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * Partial sums of one model's statistics over some sequences, so shards add: {@code fisherSum} is
 * the sum over sequences of the squared gradient of the sequence's log-likelihood (per tensor,
 * shaped like it), {@code gramSum} the sum over input tokens of {@code x x^T} per linear layer
 * ({@code [in, in]}, keyed by the layer's weight name). Either map is empty when not computed.
 *
 * @param sequences sequences summed
 * @param tokens input tokens summed (the Gram matrices' count)
 */
public record ModelStatistics(
    long sequences,
    long tokens,
    Map<String, FloatTensor> fisherSum,
    Map<String, FloatTensor> gramSum) {
  public ModelStatistics {
    fisherSum = Map.copyOf(fisherSum);
    gramSum = Map.copyOf(gramSum);
  }

  /** The sum of two partials of the same model (same tensors, same shapes). */
  public ModelStatistics plus(ModelStatistics other) {
    return new ModelStatistics(
        sequences + other.sequences,
        tokens + other.tokens,
        add(fisherSum, other.fisherSum, "Fisher"),
        add(gramSum, other.gramSum, "Gram"));
  }

  /** The diagonal Fisher: mean over sequences of the squared gradient. */
  public Map<String, FloatTensor> fisher() {
    Preconditions.checkState(sequences > 0, "No sequences summed: the Fisher is undefined");
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    fisherSum.forEach(
        (name, t) -> {
          float[] d = t.data().clone();
          for (int i = 0; i < d.length; i++) {
            d[i] = (float) (d[i] / (double) sequences);
          }
          out.put(name, new FloatTensor(t.shape(), d));
        });
    return out;
  }

  /**
   * Writes {@code fisher.safetensors} (the mean, {@link #fisher()}) and {@code gram.safetensors}
   * (the sum over tokens, as RegMean uses {@code X^T X}) of what was computed into {@code folder}.
   */
  public void write(String folder, Configuration conf) {
    if (!fisherSum.isEmpty()) {
      StatisticsFolder.write(folder, MergeStatistics.Kind.FISHER, sorted(fisher()), conf);
    }
    if (!gramSum.isEmpty()) {
      StatisticsFolder.write(folder, MergeStatistics.Kind.GRAM, sorted(gramSum), conf);
    }
  }

  private static Map<String, FloatTensor> sorted(Map<String, FloatTensor> m) {
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    m.keySet().stream().sorted().forEach(k -> out.put(k, m.get(k)));
    return out;
  }

  private static Map<String, FloatTensor> add(
      Map<String, FloatTensor> a, Map<String, FloatTensor> b, String what) {
    if (a.isEmpty()) {
      return b;
    }
    if (b.isEmpty()) {
      return a;
    }
    Preconditions.checkArgument(
        a.keySet().equals(b.keySet()),
        "Cannot add %s partials over different tensors: %s vs %s",
        what,
        a.keySet(),
        b.keySet());
    Map<String, FloatTensor> out = new LinkedHashMap<>();
    for (Map.Entry<String, FloatTensor> e : a.entrySet()) {
      FloatTensor x = e.getValue();
      FloatTensor y = b.get(e.getKey());
      Preconditions.checkArgument(
          Arrays.equals(x.shape(), y.shape()),
          "Cannot add %s partials of tensor %s: shapes %s vs %s",
          what,
          e.getKey(),
          Arrays.toString(x.shape()),
          Arrays.toString(y.shape()));
      float[] d = x.data().clone();
      float[] yd = y.data();
      for (int i = 0; i < d.length; i++) {
        d[i] += yd[i];
      }
      out.put(e.getKey(), new FloatTensor(x.shape(), d));
    }
    return out;
  }
}
