package dev.evomerge.driver.spark;

import java.io.PrintStream;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.Success$;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.StageInfo;

/**
 * A one-line progress bar on the console for each generation's job, {@code generation 3/6 [##### ]
 * 5/8 tasks}, redrawn as tasks end and erased when the generation's results are in (the
 * generation's one-line summary then takes its place). Spark's own console progress stays off
 * ({@code spark.ui.showConsoleProgress = false}).
 */
public final class ConsoleProgress extends SparkListener {
  /** Set to {@code 1} to draw the bar when stdout is not a terminal, {@code 0} to never draw it. */
  public static final String ENV = "EVOMERGE_PROGRESS";

  static final int WIDTH = 20;
  private static final Pattern GENERATION = Pattern.compile("generation (\\d+)/(\\d+)");

  private final PrintStream out;
  private final String jobGroup;
  private final Set<Integer> stages = new HashSet<>();
  private String label;
  private int done;
  private int total;
  private int drawn;

  /**
   * @param jobGroup the job group of the generations' jobs; other jobs, and jobs of the group whose
   *     description names no {@code generation N/M}, draw nothing
   */
  ConsoleProgress(PrintStream out, String jobGroup) {
    this.out = out;
    this.jobGroup = jobGroup;
  }

  /** True when stdout is a terminal (or {@value #ENV}=1 asks for the bar), unless it is 0. */
  public static boolean wanted() {
    String env = System.getenv(ENV);
    if (env != null && !env.isBlank()) {
      return env.trim().equals("1") || env.trim().equalsIgnoreCase("true");
    }
    return System.console() != null;
  }

  /**
   * The bar's text: the generation (from a job description such as {@code evomerge generation 3/6 ·
   * ...}), {@code width} cells filled in proportion, and the tasks done.
   */
  static String render(String label, int done, int total, int width) {
    int filled = total <= 0 ? 0 : (int) ((long) Math.min(done, total) * width / total);
    return String.format(
        Locale.ROOT,
        "%s [%s%s] %d/%d tasks",
        label,
        "#".repeat(filled),
        " ".repeat(width - filled),
        done,
        total);
  }

  /** {@code generation N/M} from a generation's job description, else the text before " · ". */
  static String label(String description) {
    if (description == null) {
      return "evaluation";
    }
    Matcher m = GENERATION.matcher(description);
    if (m.find()) {
      return "generation " + m.group(1) + "/" + m.group(2);
    }
    int cut = description.indexOf(" · ");
    return cut < 0 ? description : description.substring(0, cut);
  }

  @Override
  public synchronized void onJobStart(SparkListenerJobStart start) {
    java.util.Properties p = start.properties();
    if (p == null
        || !jobGroup.equals(p.getProperty("spark.jobGroup.id"))
        || !GENERATION.matcher(String.valueOf(p.getProperty("spark.job.description"))).find()) {
      return; // a generation's job only (the held-out evaluation's jobs print their own table)
    }
    stages.clear();
    total = 0;
    for (StageInfo stage : scala.jdk.javaapi.CollectionConverters.asJava(start.stageInfos())) {
      stages.add(stage.stageId());
      total += stage.numTasks();
    }
    done = 0;
    label = label(p.getProperty("spark.job.description"));
    draw();
  }

  @Override
  public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
    if (label != null && stages.contains(end.stageId()) && end.reason() == Success$.MODULE$) {
      done++;
      draw();
    }
  }

  /** Erases the bar; events of the finished job that arrive later draw nothing. */
  synchronized void finish() {
    if (drawn > 0) {
      out.print("\r" + " ".repeat(drawn) + "\r");
      out.flush();
    }
    drawn = 0;
    label = null;
    stages.clear();
  }

  private void draw() {
    String line = render(label, done, total, WIDTH);
    out.print("\r" + line + " ".repeat(Math.max(0, drawn - line.length())));
    out.flush();
    drawn = Math.max(drawn, line.length());
  }
}
