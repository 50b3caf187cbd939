package dev.evomerge.driver.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Minimal {@code --flag value} parsing; repeatable {@code --set}; unknown flags are errors. */
final class Options {
  final Map<String, String> values = new HashMap<>();
  final List<String> sets = new ArrayList<>();
  boolean help;

  static Options parse(String[] args, Set<String> flags) {
    Options o = new Options();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--help") || a.equals("-h")) {
        o.help = true;
        continue;
      }
      if (!a.equals("--set") && !flags.contains(a)) {
        throw new UsageError("unknown option '" + a + "'");
      }
      if (i + 1 >= args.length) {
        throw new UsageError("option " + a + " needs a value");
      }
      String value = args[++i];
      if (a.equals("--set")) {
        o.sets.add(value);
      } else {
        o.values.put(a, value);
      }
    }
    return o;
  }

  /** A command-line mistake; reported with the command's usage. */
  static final class UsageError extends RuntimeException {
    UsageError(String message) {
      super(message);
    }
  }
}
