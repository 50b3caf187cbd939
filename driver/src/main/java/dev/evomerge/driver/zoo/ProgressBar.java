package dev.evomerge.driver.zoo;

import java.io.PrintStream;
import java.util.Locale;

/** A one-line text progress bar, redrawn with a carriage return when its text changes. */
final class ProgressBar {
  private static final int WIDTH = 30;
  private final PrintStream out;
  private final long total;
  private final long started = System.nanoTime();
  private String last = "";

  ProgressBar(PrintStream out, long total) {
    this.out = out;
    this.total = Math.max(1, total);
  }

  void update(long done, String label) {
    int filled = (int) (WIDTH * Math.min(done, total) / total);
    double seconds = (System.nanoTime() - started) / 1e9;
    String eta =
        done > 0 && done < total
            ? String.format(Locale.ROOT, ", ~%.0f s left", seconds * (total - done) / done)
            : "";
    String line =
        String.format(
            Locale.ROOT,
            "[%s%s] %3d%%  %s  (%.0f s%s)",
            "#".repeat(filled),
            " ".repeat(WIDTH - filled),
            100 * Math.min(done, total) / total,
            label,
            seconds,
            eta);
    // redraw when the bar grows, a new phase starts (its first word), or every 1 % of the steps
    String key = filled + label.split(" ")[0] + (100 * done / total);
    if (!key.equals(last) || done == total) {
      out.print("\r" + line);
      out.flush();
      last = key;
    }
  }

  void finish() {
    out.println();
  }
}
