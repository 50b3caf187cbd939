package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A merge parameter's value as mergekit writes it: a scalar, a gradient (anchors interpolated
 * linearly over relative layer depth), a filter list (first entry whose filter is a substring of
 * the tensor name wins; an entry without filter is the fallback), or a flag ({@code normalize}).
 */
public sealed interface ParamValue {
  /** The value in mergekit's YAML shape: a number, a list of numbers, a list of maps, a boolean. */
  Object toYaml();

  /**
   * The number this value gives a tensor named {@code tensorName} at relative depth {@code t} in
   * [0, 1]; NaN when a filter list has no matching entry and no fallback.
   */
  double valueAt(double t, String tensorName);

  static ParamValue of(double value) {
    return new Scalar(value);
  }

  record Scalar(double value) implements ParamValue {
    @Override
    public Object toYaml() {
      return value;
    }

    @Override
    public double valueAt(double t, String tensorName) {
      return value;
    }
  }

  record Flag(boolean value) implements ParamValue {
    @Override
    public Object toYaml() {
      return value;
    }

    @Override
    public double valueAt(double t, String tensorName) {
      return value ? 1 : 0;
    }
  }

  record Gradient(List<Double> anchors) implements ParamValue {
    public Gradient {
      Preconditions.checkArgument(!anchors.isEmpty(), "A gradient needs at least one value");
      anchors = List.copyOf(anchors);
    }

    @Override
    public Object toYaml() {
      return anchors;
    }

    /** mergekit's interpolation: {@code s = t (m - 1)}, linear between anchors floor(s), +1. */
    @Override
    public double valueAt(double t, String tensorName) {
      int m = anchors.size();
      double s = t * (m - 1);
      int i = (int) Math.floor(s);
      i = Math.max(0, Math.min(m - 1, i));
      double frac = s - i;
      return (1 - frac) * anchors.get(i) + frac * anchors.get(Math.min(i + 1, m - 1));
    }
  }

  /** One entry of a filter list; {@code filter} null is the fallback. */
  record FilterEntry(String filter, ParamValue value) {
    public FilterEntry {
      Preconditions.checkArgument(
          value instanceof Scalar || value instanceof Gradient,
          "A filter entry's value must be a number or a gradient: %s",
          value);
    }
  }

  record Filtered(List<FilterEntry> entries) implements ParamValue {
    public Filtered {
      Preconditions.checkArgument(!entries.isEmpty(), "An empty filter list");
      entries = List.copyOf(entries);
    }

    @Override
    public Object toYaml() {
      List<Object> out = new ArrayList<>();
      for (FilterEntry e : entries) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (e.filter() != null) {
          m.put("filter", e.filter());
        }
        m.put("value", e.value().toYaml());
        out.add(m);
      }
      return out;
    }

    @Override
    public double valueAt(double t, String tensorName) {
      for (FilterEntry e : entries) {
        if (e.filter() == null || tensorName.contains(e.filter())) {
          return e.value().valueAt(t, tensorName);
        }
      }
      return Double.NaN;
    }
  }

  /** Parses mergekit's YAML shape (as nested maps and lists) back into a value. */
  static ParamValue fromYaml(Object yaml) {
    if (yaml instanceof Boolean b) {
      return new Flag(b);
    }
    if (yaml instanceof Number n) {
      return new Scalar(n.doubleValue());
    }
    Preconditions.checkArgument(yaml instanceof List<?>, "Not a parameter value: %s", yaml);
    List<?> list = (List<?>) yaml;
    Preconditions.checkArgument(!list.isEmpty(), "Empty parameter value list");
    if (list.get(0) instanceof Number) {
      List<Double> anchors = new ArrayList<>();
      for (Object o : list) {
        Preconditions.checkArgument(o instanceof Number, "Not a number in a gradient: %s", o);
        anchors.add(((Number) o).doubleValue());
      }
      return new Gradient(anchors);
    }
    List<FilterEntry> entries = new ArrayList<>();
    for (Object o : list) {
      Preconditions.checkArgument(o instanceof Map<?, ?>, "Not a filter entry: %s", o);
      Map<?, ?> m = (Map<?, ?>) o;
      Object filter = m.get("filter");
      entries.add(
          new FilterEntry(filter == null ? null : filter.toString(), fromYaml(m.get("value"))));
    }
    return new Filtered(entries);
  }
}
