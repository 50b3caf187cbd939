package dev.evomerge.worker.merge;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/** The registry of merge methods by their mergekit names. */
public final class MergeMethods {
  private static final Map<String, MergeMethod> METHODS = new ConcurrentSkipListMap<>();

  static {
    register(new LinearMerge());
    TaskArithmeticFamily.all().forEach(MergeMethods::register);
    register(new SlerpMerge());
    register(new NuSlerpMerge());
    register(new MultiSlerpMerge());
    register(new KarcherMerge());
    register(new ModelStockMerge());
    register(new SceMerge());
    register(new NearSwapMerge());
    register(new PassthroughMerge());
    register(new FisherMerge());
    register(new RegMeanMerge());
  }

  private MergeMethods() {}

  /** Adds a method; its name must be new. */
  public static void register(MergeMethod method) {
    MergeMethod previous = METHODS.putIfAbsent(method.name(), method);
    Preconditions.checkArgument(
        previous == null, "Merge method %s is already registered", method.name());
  }

  /** The method of that name, or an error suggesting the nearest registered name. */
  public static MergeMethod get(String name) {
    MergeMethod m = METHODS.get(name);
    if (m == null) {
      String nearest =
          METHODS.keySet().stream()
              .min(Comparator.comparingInt(k -> editDistance(k, String.valueOf(name))))
              .orElse("");
      throw new IllegalArgumentException(
          String.format(
              "Unknown merge_method %s; did you mean %s? Known: %s", name, nearest, names()));
    }
    return m;
  }

  public static List<String> names() {
    return new ArrayList<>(METHODS.keySet());
  }

  static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
      }
      int[] tmp = prev;
      prev = cur;
      cur = tmp;
    }
    return prev[b.length()];
  }
}
