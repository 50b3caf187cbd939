package dev.evomerge.worker.io;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Checks that a set of sources can be merged tensor by tensor: same tensor names and shapes, same
 * vocabulary size and layer count, same architecture. Uses only configs, indexes and headers, so it
 * is cheap enough to run before any cluster work. Errors name the tensor and the two models.
 */
public final class ModelCompatibility {
  private ModelCompatibility() {}

  /** Throws a CheckpointException describing the first difference from the first model. */
  public static void check(List<HfModelFolder> models) {
    if (models.size() < 2) {
      return;
    }
    HfModelFolder first = models.get(0);
    ModelSummary.Architecture a = ModelSummary.architecture(first.config(), first.tensors());
    for (HfModelFolder other : models.subList(1, models.size())) {
      ModelSummary.Architecture b = ModelSummary.architecture(other.config(), other.tensors());
      if (!a.architectures().equals(b.architectures()) || !a.modelType().equals(b.modelType())) {
        throw differ(
            first,
            other,
            String.format(
                "architecture %s (%s) vs %s (%s)",
                a.architectures(), a.modelType(), b.architectures(), b.modelType()));
      }
      if (a.vocabSize() != b.vocabSize()) {
        throw differ(
            first, other, String.format("vocab size %d vs %d", a.vocabSize(), b.vocabSize()));
      }
      if (a.layers() != b.layers()) {
        throw differ(first, other, String.format("layer count %d vs %d", a.layers(), b.layers()));
      }
      Map<String, TensorInfo> ta = first.tensors();
      Map<String, TensorInfo> tb = other.tensors();
      for (TensorInfo t : ta.values()) {
        TensorInfo u = tb.get(t.name());
        if (u == null) {
          throw differ(
              first, other, String.format("tensor %s is missing from the second", t.name()));
        }
        if (!Arrays.equals(t.shape(), u.shape())) {
          throw differ(
              first,
              other,
              String.format(
                  "tensor %s has shape %s vs %s",
                  t.name(), Arrays.toString(t.shape()), Arrays.toString(u.shape())));
        }
      }
      for (String name : tb.keySet()) {
        if (!ta.containsKey(name)) {
          throw differ(first, other, String.format("tensor %s is missing from the first", name));
        }
      }
      if (!Objects.equals(a.hiddenSize(), b.hiddenSize())) {
        throw differ(
            first, other, String.format("hidden size %d vs %d", a.hiddenSize(), b.hiddenSize()));
      }
    }
  }

  private static CheckpointException differ(HfModelFolder a, HfModelFolder b, String what) {
    return new CheckpointException(
        String.format("Models %s and %s cannot be merged: %s", a.uri(), b.uri(), what));
  }
}
