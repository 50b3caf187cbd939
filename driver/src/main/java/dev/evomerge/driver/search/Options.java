package dev.evomerge.driver.search;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Typed access to a strategy's options map (as it comes from the config layer: numbers, strings,
 * booleans, lists of numbers). A key no strategy reads is an error naming the nearest valid key, so
 * a typo in a config cannot silently fall back to a default.
 */
final class Options {
  private final String strategy;
  private final Map<String, Object> values;
  private final Set<String> read = new TreeSet<>();

  Options(String strategy, Map<String, Object> values) {
    this.strategy = strategy;
    this.values = values == null ? Map.of() : values;
  }

  boolean has(String key) {
    read.add(key);
    return values.containsKey(key) && values.get(key) != null;
  }

  double getDouble(String key, double fallback) {
    read.add(key);
    Object v = values.get(key);
    if (v == null) {
      return fallback;
    }
    Preconditions.checkArgument(
        v instanceof Number, "Option %s of %s must be a number, got %s", key, strategy, v);
    return ((Number) v).doubleValue();
  }

  int getInt(String key, int fallback) {
    double d = getDouble(key, fallback);
    Preconditions.checkArgument(
        d == Math.rint(d) && Math.abs(d) < Integer.MAX_VALUE,
        "Option %s of %s must be an integer, got %s",
        key,
        strategy,
        d);
    return (int) d;
  }

  String getString(String key, String fallback, String... allowed) {
    read.add(key);
    Object v = values.get(key);
    String s = v == null ? fallback : v.toString();
    if (allowed.length > 0 && !List.of(allowed).contains(s)) {
      throw new IllegalArgumentException(
          String.format(
              "Invalid %s for %s: '%s'; did you mean '%s'? Valid: %s",
              key, strategy, s, Names.nearest(s, List.of(allowed)), List.of(allowed)));
    }
    return s;
  }

  /** A list of numbers, or one number repeated {@code length} times. */
  double[] getVector(String key, int length) {
    read.add(key);
    Object v = values.get(key);
    if (v instanceof Number n) {
      double[] out = new double[length];
      java.util.Arrays.fill(out, n.doubleValue());
      return out;
    }
    Preconditions.checkArgument(
        v instanceof Collection<?>,
        "Option %s of %s must be a number or a list: %s",
        key,
        strategy,
        v);
    List<Object> list = new ArrayList<>((Collection<?>) v);
    Preconditions.checkArgument(
        list.size() == length,
        "Option %s of %s has %s values for %s genes",
        key,
        strategy,
        list.size(),
        length);
    double[] out = new double[length];
    for (int i = 0; i < length; i++) {
      Preconditions.checkArgument(
          list.get(i) instanceof Number,
          "Option %s of %s: not a number: %s",
          key,
          strategy,
          list.get(i));
      out[i] = ((Number) list.get(i)).doubleValue();
    }
    return out;
  }

  /** Fails on a key that was never read, suggesting the nearest one that was. */
  void checkAllRead() {
    for (String key : values.keySet()) {
      if (!read.contains(key)) {
        throw new IllegalArgumentException(
            String.format(
                "Unknown option '%s' for strategy %s; did you mean '%s'? Valid: %s",
                key, strategy, Names.nearest(key, read), read));
      }
    }
  }
}
