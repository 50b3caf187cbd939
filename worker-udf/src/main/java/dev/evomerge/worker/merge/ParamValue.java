package dev.evomerge.worker.merge;

import com.google.common.base.Preconditions;
import java.util.List;

/**
 * A parameter as written in a recipe: a scalar, a depth gradient or a list of name filters. It
 * resolves to one scalar per (tensor, relative depth).
 */
public sealed interface ParamValue {

  /** The value for a tensor named {@code tensor} at relative depth {@code t} in [0, 1]. */
  Object resolve(String tensor, double t);

  /** A plain number or boolean. */
  record Scalar(Object value) implements ParamValue {
    public Scalar {
      Preconditions.checkArgument(
          value instanceof Double || value instanceof Boolean || value instanceof String,
          "Parameter value must be a number, a boolean or a string, got %s",
          value);
    }

    @Override
    public Object resolve(String tensor, double t) {
      return value;
    }
  }

  /** Numbers interpolated linearly over the relative depth of a layer inside its slice. */
  record Gradient(List<Double> points) implements ParamValue {
    public Gradient {
      Preconditions.checkArgument(!points.isEmpty(), "A gradient needs at least one value");
      points = List.copyOf(points);
    }

    @Override
    public Object resolve(String tensor, double t) {
      int m = points.size();
      double s = t * (m - 1);
      int i = (int) Math.floor(s);
      i = Math.max(0, Math.min(i, m - 1));
      double frac = s - i;
      return (1 - frac) * points.get(i) + frac * points.get(Math.min(i + 1, m - 1));
    }
  }

  /** One entry of a filter list; a null filter is the fallback. */
  record FilterEntry(String filter, ParamValue value) {}

  /** First entry whose filter is a substring of the tensor name wins; no filter = fallback. */
  record Filtered(List<FilterEntry> entries) implements ParamValue {
    public Filtered {
      entries = List.copyOf(entries);
    }

    @Override
    public Object resolve(String tensor, double t) {
      for (FilterEntry e : entries) {
        if (e.filter() == null || tensor.contains(e.filter())) {
          return e.value().resolve(tensor, t);
        }
      }
      return null;
    }
  }

  static ParamValue of(double v) {
    return new Scalar(v);
  }

  static ParamValue of(boolean v) {
    return new Scalar(v);
  }
}
