package dev.evomerge.driver.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.run.ToyFixtures;
import dev.evomerge.driver.spark.TestSpark;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Executes {@code notebooks/*.ipynb} headless (nbclient, Debian's Python) against a small
 * multi-objective run with held-out tasks made here, and checks every figure was drawn: a PNG file
 * per view, and image outputs and no errors in the executed notebook. The executed notebook and its
 * figures stay in {@code driver/target/notebooks/} for a look.
 */
class NotebooksTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path ROOT =
      Files.isDirectory(Path.of("notebooks"))
          ? Path.of("").toAbsolutePath()
          : Path.of("").toAbsolutePath().getParent();
  private static final Path OUT = Path.of("target/notebooks").toAbsolutePath();

  @BeforeAll
  static void shareSession() {
    TestSpark.session();
  }

  /** An nsga2 run on two dev tasks (the dev set and the first half of it) with a test set. */
  private static Path smallRun() throws Exception {
    deleteRecursively(OUT);
    Path runs = OUT.resolve("runs");
    Files.createDirectories(runs);
    List<String> dev = Files.readAllLines(ToyFixtures.zoo().devSet());
    Path half = OUT.resolve("dev-half.jsonl");
    Files.write(half, dev.subList(0, dev.size() / 2));
    Path config = OUT.resolve("run.conf");
    Files.writeString(config, ToyFixtures.config(runs) + "\nevomerge.run.pointers = true\n");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        RunCommand.execute(
            config.toFile(),
            List.of(
                "evomerge.search.strategy=nsga2",
                "evomerge.search.options={populationSize = 4}",
                "evomerge.eval.dev-set=null",
                "evomerge.eval.tasks=[{name = dev, data = \""
                    + ToyFixtures.zoo().devSet()
                    + "\", kind = loglik}, {name = first-half, data = \""
                    + half
                    + "\", kind = loglik}]",
                "evomerge.eval.test-set=\"" + ToyFixtures.zoo().testSet() + "\""),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
    try (Stream<Path> s = Files.list(runs)) {
      return s.filter(Files::isDirectory).findFirst().orElseThrow();
    }
  }

  /** The PNGs each notebook saves, one per view. */
  private static final Map<String, List<String>> FIGURES =
      Map.of(
          "evomerge-run", List.of("fitness", "tasks", "coefficients", "pareto", "heldout"),
          "nightly-runs", List.of("nightly"));

  private static final String EXECUTE =
      """
      import sys, nbformat
      from nbclient import NotebookClient
      source, target, workdir = sys.argv[1:4]
      nb = nbformat.read(source, as_version=4)
      NotebookClient(nb, timeout=300, kernel_name="python3",
                     resources={"metadata": {"path": workdir}}).execute()
      nbformat.write(nb, target)
      """;

  @Test
  void notebooksDrawEveryViewOfARun() throws Exception {
    String python = TestPython.interpreter(true);
    Path run = smallRun();
    List<Path> notebooks = new ArrayList<>();
    try (Stream<Path> s = Files.list(ROOT.resolve("notebooks"))) {
      s.filter(p -> p.toString().endsWith(".ipynb")).sorted().forEach(notebooks::add);
    }
    assertFalse(notebooks.isEmpty(), "no notebooks in " + ROOT.resolve("notebooks"));
    for (Path notebook : notebooks) {
      String name = notebook.getFileName().toString().replace(".ipynb", "");
      Path figures = OUT.resolve("figures-" + name);
      Path executed = OUT.resolve(name + ".executed.ipynb");
      ProcessBuilder pb =
          new ProcessBuilder(
                  python,
                  "-c",
                  EXECUTE,
                  notebook.toString(),
                  executed.toString(),
                  notebook.getParent().toString())
              .redirectErrorStream(true);
      Map<String, String> env = pb.environment();
      // the runs root: the notebook follows latest.json to the run
      env.put("EVOMERGE_RUN", run.getParent().toString());
      env.put("EVOMERGE_FIGURES", figures.toString());
      env.put("MPLBACKEND", "module://matplotlib_inline.backend_inline");
      env.put("MPLCONFIGDIR", OUT.resolve("mpl").toString());
      Process p = pb.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, p.waitFor(), name + " failed to execute:\n" + out);

      int images = 0;
      for (JsonNode cell : JSON.readTree(executed.toFile()).get("cells")) {
        for (JsonNode output : cell.path("outputs")) {
          assertFalse(
              output.path("output_type").asText().equals("error"),
              name + ": " + output.path("evalue").asText());
          if (output.path("data").has("image/png")) {
            images++;
          }
        }
      }
      List<String> expected = FIGURES.get(name);
      assertTrue(expected != null, "no expected figures for notebook " + name + " in this test");
      for (String figure : expected) {
        Path png = figures.resolve(figure + ".png");
        assertTrue(Files.isRegularFile(png), name + " drew no " + png);
        var image = ImageIO.read(png.toFile());
        assertTrue(image.getWidth() > 200 && image.getHeight() > 100, png + " is too small");
      }
      assertEquals(expected.size(), images, name + ": one image output per view");
      // it read this run (the run notebook followed latest.json to it)
      String text = Files.readString(executed);
      assertTrue(text.contains(run.getFileName().toString()), name + " did not read " + run);
      if (name.equals("nightly-runs")) {
        assertTrue(text.contains("latest champion"), "the pointers are not marked");
      }
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }
}
