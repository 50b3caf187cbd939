package dev.evomerge.driver.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.run.ToyFixtures;
import dev.evomerge.driver.search.CmaEs;
import dev.evomerge.driver.search.Evaluated;
import dev.evomerge.driver.search.Genome;
import dev.evomerge.driver.search.SearchRun;
import dev.evomerge.driver.spark.TestSpark;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Nightly runs: warm start from an earlier run, latest/champion pointers under the runs root. */
class NightlyRunTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @BeforeAll
  static void shareSession() {
    TestSpark.session();
  }

  record Outcome(int code, String out, String err, Path dir) {}

  /** Runs once under {@code runs}; {@code dir} is the run folder it made (null if none). */
  private Outcome run(Path runs, String warmStart, List<String> sets) throws Exception {
    Set<Path> before = folders(runs);
    Path file = tmp.resolve("run.conf");
    // ToyFixtures' runs stay out of the pointers; these nights take part
    Files.writeString(file, ToyFixtures.config(runs) + "\nevomerge.run.pointers = true\n");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        RunCommand.execute(
            file.toFile(),
            sets,
            warmStart,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    Set<Path> after = folders(runs);
    after.removeAll(before);
    return new Outcome(
        code,
        out.toString(StandardCharsets.UTF_8),
        err.toString(StandardCharsets.UTF_8),
        after.isEmpty() ? null : after.iterator().next());
  }

  private static Set<Path> folders(Path runs) throws Exception {
    if (!Files.isDirectory(runs)) {
      return new java.util.HashSet<>();
    }
    try (Stream<Path> s = Files.list(runs)) {
      return s.filter(Files::isDirectory).collect(Collectors.toCollection(java.util.HashSet::new));
    }
  }

  private static String sources(List<Path> paths) {
    return "evomerge.models.sources=["
        + paths.stream().map(p -> "\"" + p + "\"").collect(Collectors.joining(", "))
        + "]";
  }

  private static List<double[]> genomesOfGeneration(Path dir, int generation) throws Exception {
    List<double[]> out = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("history.jsonl"))) {
      JsonNode h = JSON.readTree(line);
      if (h.get("generation").asInt() == generation) {
        double[] g = new double[h.get("genome").size()];
        for (int i = 0; i < g.length; i++) {
          g[i] = h.get("genome").get(i).asDouble();
        }
        out.add(g);
      }
    }
    return out;
  }

  private static SearchRun restored(Path dir) throws Exception {
    return SearchRun.restore(Files.readString(dir.resolve("checkpoint/search.json")));
  }

  private static String pointer(Path runs, String which) throws Exception {
    return JSON.readTree(runs.resolve(which + ".json").toFile()).get("run").asText();
  }

  @Test
  void warmStartSeedsTheEarlierPopulationAndAddedSourcesJoinIt() throws Exception {
    Path runs = tmp.resolve("runs");
    List<Path> zoo = ToyFixtures.zoo().sources();
    List<String> ga = List.of("evomerge.search.strategy=ga", "evomerge.search.options={}");
    List<String> first = new ArrayList<>(ga);
    first.add(sources(zoo.subList(0, 2)));
    first.add("evomerge.search.options.populationSize=4");
    Outcome night1 = run(runs, null, first);
    assertEquals(0, night1.code(), night1.err());
    List<Evaluated> population = restored(night1.dir()).strategy().population();
    assertEquals(4, population.size());

    // night 2: a third source was added
    List<String> second = new ArrayList<>(ga);
    second.add(sources(zoo));
    second.add("evomerge.search.options.populationSize=6");
    Outcome night2 = run(runs, night1.dir().toString(), second);
    assertEquals(0, night2.code(), night2.err());
    assertTrue(night2.out().contains("warm start from " + night1.dir()), night2.out());
    assertTrue(night2.out().contains("sources added since"), night2.out());
    List<double[]> gen0 = genomesOfGeneration(night2.dir(), 0);
    assertEquals(6, gen0.size());
    // the added source alone comes first: its weight at the top, the others at the bottom
    assertArrayEquals(new double[] {0, 0, 1}, gen0.get(0));
    // then the earlier population, best first, its genes kept and the new gene at the default
    for (int i = 0; i < population.size(); i++) {
      double[] old = population.get(i).genome().genes();
      assertArrayEquals(new double[] {old[0], old[1], 0.5}, gen0.get(1 + i));
    }
    double bestOfNight1 = Double.NEGATIVE_INFINITY;
    for (String line : Files.readAllLines(night1.dir().resolve("history.jsonl"))) {
      bestOfNight1 = Math.max(bestOfNight1, JSON.readTree(line).get("fitness").asDouble());
    }
    assertEquals(bestOfNight1, population.get(0).fitness(), 0, "night 1's best seeds night 2");
    // the warm-started run is itself resumable: its checkpoint replays to the same state
    assertEquals(
        restored(night2.dir()).best().fitness(),
        JSON.readTree(night2.dir().resolve("best.json").toFile()).get("fitness").asDouble(),
        0);
  }

  private static void assertArrayEquals(double[] expected, double[] actual) {
    assertEquals(Arrays.toString(expected), Arrays.toString(actual));
  }

  @Test
  void cmaesWarmStartStartsAtTheEarlierBestWithItsStepSize() throws Exception {
    Path runs = tmp.resolve("runs");
    List<String> cma =
        List.of("evomerge.search.strategy=cmaes", "evomerge.search.options={populationSize = 4}");
    Outcome night1 = run(runs, null, cma);
    assertEquals(0, night1.code(), night1.err());
    SearchRun earlier = restored(night1.dir());
    double sigma = ((CmaEs) earlier.strategy()).sigma();
    Genome best = earlier.best().genome();

    Outcome night2 = run(runs, night1.dir().toString(), cma);
    assertEquals(0, night2.code(), night2.err());
    JsonNode options =
        JSON.readTree(Files.readString(night2.dir().resolve("checkpoint/search.json")))
            .get("options");
    double[] start = new double[options.get("start").size()];
    for (int i = 0; i < start.length; i++) {
      start[i] = options.get("start").get(i).asDouble();
    }
    assertArrayEquals(best.genes(), start);
    double defaultSigma = 1.0 / 6; // bounds [0, 1]
    assertEquals(
        Math.min(defaultSigma, Math.max(sigma, defaultSigma / 10)),
        options.get("sigma0").asDouble(),
        1e-15);
  }

  @Test
  void warmStartFromAMissingFolderIsABadInputAndMakesNoRunFolder() throws Exception {
    Path runs = tmp.resolve("runs");
    Outcome o = run(runs, tmp.resolve("no-such-run").toString(), List.of());
    assertEquals(2, o.code());
    assertTrue(o.err().contains("no-such-run"), o.err());
    assertFalse(Files.exists(runs));
    // `latest` before any run: a fresh search, said so
    Outcome fresh = run(runs, "latest", List.of());
    assertEquals(0, fresh.code(), fresh.err());
    assertTrue(fresh.out().contains("no latest run under"), fresh.out());
    assertEquals(fresh.dir().toAbsolutePath().toString(), pointer(runs, "latest"));
    // a scratch run with the pointers off leaves them
    Outcome scratch = run(runs, "latest", List.of("evomerge.run.pointers=false"));
    assertEquals(0, scratch.code(), scratch.err());
    assertTrue(scratch.out().contains("warm start from " + fresh.dir()), scratch.out());
    assertEquals(fresh.dir().toAbsolutePath().toString(), pointer(runs, "latest"));
    assertFalse(Files.exists(runs.resolve("champion.json")), "no held-out tasks: no champion");
  }

  @Test
  void pointersMoveOnlyAfterCompletedRunsAndTheChampionOnlyWhenBeatenByTheMargin()
      throws Exception {
    Path runs = tmp.resolve("runs");
    List<Path> zoo = ToyFixtures.zoo().sources();
    String test = "evomerge.eval.test-set=\"" + ToyFixtures.zoo().testSet() + "\"";
    // night 1: only the least useful source (the target mixes it at 0.1) and a copy of it
    Path copy = copy(zoo.get(2), "source-2-copy", false);
    String oneGeneration = "evomerge.run.generations=1";
    Outcome weak =
        run(runs, null, List.of(test, oneGeneration, sources(List.of(zoo.get(2), copy))));
    assertEquals(0, weak.code(), weak.err());
    String weakRun = weak.dir().toAbsolutePath().toString();
    assertEquals(weakRun, pointer(runs, "latest"));
    assertEquals(weakRun, pointer(runs, "champion"));
    assertTrue(Files.readString(weak.dir().resolve("report.md")).contains("no champion yet"));
    double weakTest = evolvedTest(weak.dir());

    // night 2: all three sources, but a margin nothing can clear: latest moves, champion stays
    Outcome strict =
        run(
            runs,
            "latest",
            List.of(test, oneGeneration, sources(zoo), "evomerge.run.champion-margin=100"));
    assertEquals(0, strict.code(), strict.err());
    assertEquals(strict.dir().toAbsolutePath().toString(), pointer(runs, "latest"));
    assertEquals(weakRun, pointer(runs, "champion"));
    String report = Files.readString(strict.dir().resolve("report.md"));
    assertTrue(report.contains("## Champion"), report);
    assertTrue(report.contains("does not beat it"), report);
    assertTrue(report.contains("champion unchanged"), report);
    // the champion was scored again on the same test rows: the same fitness as its own table
    assertTrue(report.contains(String.format(java.util.Locale.ROOT, "%.5f", weakTest)), report);

    // night 3: a failed run (every candidate's weights are NaN) leaves both pointers
    List<Path> poisoned =
        List.of(copy(zoo.get(0), "poisoned-0", true), copy(zoo.get(1), "poisoned-1", true));
    Outcome failed = run(runs, null, List.of(test, oneGeneration, sources(poisoned)));
    assertNotEquals(0, failed.code());
    assertEquals(
        "failed",
        JSON.readTree(failed.dir().resolve("status.json").toFile()).get("state").asText());
    assertEquals(strict.dir().toAbsolutePath().toString(), pointer(runs, "latest"));
    assertEquals(weakRun, pointer(runs, "champion"));

    // night 4: margin 0: the three-source merge beats the one-source champion and takes over
    Outcome better = run(runs, "champion", List.of(test, sources(zoo)));
    assertEquals(0, better.code(), better.err());
    String betterRun = better.dir().toAbsolutePath().toString();
    assertTrue(evolvedTest(better.dir()) > weakTest);
    assertEquals(betterRun, pointer(runs, "champion"));
    assertEquals(betterRun, pointer(runs, "latest"));
    String won = Files.readString(better.dir().resolve("report.md"));
    assertTrue(won.contains("beats it"), won);
    assertTrue(won.contains("champion -> this run"), won);
    assertFalse(Files.exists(runs.resolve(".champion.json.tmp")));
  }

  @Test
  void aNegativeMarginIsRejectedBeforeAnyRunFolder() throws Exception {
    Path runs = tmp.resolve("runs");
    Outcome o = run(runs, null, List.of("evomerge.run.champion-margin=-0.5"));
    assertEquals(2, o.code());
    assertTrue(o.err().contains("evomerge.run.champion-margin"), o.err());
    assertFalse(Files.exists(runs));
  }

  private static double evolvedTest(Path dir) throws Exception {
    JsonNode models = JSON.readTree(dir.resolve("test-evaluation.json").toFile()).get("models");
    assertEquals("evolved merge (best)", models.get(0).get("model").asText());
    return models.get(0).get("fitness").asDouble();
  }

  /** A copy of a model folder; {@code poison}: every tensor value NaN (headers intact). */
  private Path copy(Path source, String name, boolean poison) throws Exception {
    Path out = tmp.resolve(name);
    Files.createDirectories(out);
    try (Stream<Path> files = Files.list(source)) {
      for (Path f : files.toList()) {
        byte[] bytes = Files.readAllBytes(f);
        if (poison && f.getFileName().toString().endsWith(".safetensors")) {
          long header = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
          Arrays.fill(bytes, (int) (8 + header), bytes.length, (byte) 0xFF);
        }
        Files.write(out.resolve(f.getFileName()), bytes);
      }
    }
    return out;
  }
}
