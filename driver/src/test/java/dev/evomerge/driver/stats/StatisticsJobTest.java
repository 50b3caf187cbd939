package dev.evomerge.driver.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import dev.evomerge.driver.cli.Main;
import dev.evomerge.driver.run.ToyFixtures;
import dev.evomerge.driver.spark.TestSpark;
import dev.evomerge.driver.toy.ToyZoo;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.merge.MergeStatistics;
import dev.evomerge.worker.merge.StatisticsFolder;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.ModelWeights;
import dev.evomerge.worker.score.TextTokenizer;
import dev.evomerge.worker.stats.ModelStatistics;
import dev.evomerge.worker.stats.StatisticsComputer;
import dev.evomerge.worker.stats.StatisticsOptions;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatisticsJobTest {
  @TempDir Path tmp;

  private static final StatisticsOptions OPTIONS = StatisticsOptions.both(24);

  private static List<String> texts(int from, int to) {
    return StatsCommand.readTexts(ToyFixtures.zoo().devSet().toString()).subList(from, to);
  }

  private static ModelStatistics singleMachine(Path model, List<String> texts) throws Exception {
    Configuration conf = new Configuration();
    HfModelFolder folder = HfModelFolder.open(model.toString(), conf);
    LlamaConfig config = ModelWeights.config(folder);
    try (TextTokenizer tokenizer = TextTokenizer.load(folder.folder(), conf, config)) {
      return StatisticsComputer.compute(
          folder,
          StatisticsComputer.tokenize(tokenizer, texts, OPTIONS.maxLength()),
          OPTIONS,
          Device.cpu());
    }
  }

  private static void assertClose(
      Map<String, FloatTensor> expected,
      StatisticsFolder read,
      MergeStatistics.Kind kind,
      String model) {
    for (Map.Entry<String, FloatTensor> e : expected.entrySet()) {
      FloatTensor got = read.read(kind, model, e.getKey());
      assertArrayEquals(e.getValue().shape(), got.shape(), e.getKey());
      float[] a = e.getValue().data();
      for (int i = 0; i < a.length; i++) {
        assertEquals(a[i], got.data()[i], 1e-4 * (1 + Math.abs(a[i])), e.getKey() + "[" + i + "]");
      }
    }
  }

  @Test
  void sparkStatisticsEqualTheSingleMachineOnesAreCachedAndFeedRegmean() throws Exception {
    ToyZoo.Zoo zoo = ToyFixtures.zoo();
    Path a = zoo.sources().get(0);
    Path b = zoo.sources().get(1);
    String outA = tmp.resolve("stats-a").toString();
    String outB = tmp.resolve("stats-b").toString();
    List<StatisticsJob.Source> sources =
        List.of(
            new StatisticsJob.Source("a", a.toString(), outA, texts(0, 5)),
            new StatisticsJob.Source("b", b.toString(), outB, texts(5, 12)));
    List<StatisticsJob.Outcome> first =
        StatisticsJob.run(TestSpark.session(), sources, OPTIONS, Map.of(), 3);
    assertEquals(2, first.size());
    assertFalse(first.get(0).cached());
    assertEquals(5, first.get(0).sequences());
    assertEquals(7, first.get(1).sequences());

    Configuration conf = new Configuration();
    StatisticsFolder read =
        StatisticsFolder.open(
            Map.of("a", outA, "b", outB), EnumSet.allOf(MergeStatistics.Kind.class), conf);
    ModelStatistics expectedA = singleMachine(a, texts(0, 5));
    ModelStatistics expectedB = singleMachine(b, texts(5, 12));
    assertEquals(expectedA.tokens(), first.get(0).tokens());
    assertClose(expectedA.fisher(), read, MergeStatistics.Kind.FISHER, "a");
    assertClose(expectedA.gramSum(), read, MergeStatistics.Kind.GRAM, "a");
    assertClose(expectedB.fisher(), read, MergeStatistics.Kind.FISHER, "b");
    assertClose(expectedB.gramSum(), read, MergeStatistics.Kind.GRAM, "b");
    // the two models' statistics differ: each shard summed its own model's rows
    String q = "model.layers.0.self_attn.q_proj.weight";
    assertFalse(java.util.Arrays.equals(read.gram("a", q).data(), read.gram("b", q).data()));

    Path marker = Path.of(outA, StatisticsJob.MARKER);
    long written = Files.getLastModifiedTime(marker).toMillis();
    Path gramFile = Path.of(outA, MergeStatistics.Kind.GRAM.fileName());
    Files.setLastModifiedTime(gramFile, java.nio.file.attribute.FileTime.fromMillis(1000));
    List<StatisticsJob.Outcome> second =
        StatisticsJob.run(TestSpark.session(), sources, OPTIONS, Map.of(), 3);
    assertTrue(second.stream().allMatch(StatisticsJob.Outcome::cached), second.toString());
    assertEquals(5, second.get(0).sequences());
    assertEquals(1000, Files.getLastModifiedTime(gramFile).toMillis());
    assertEquals(written, Files.getLastModifiedTime(marker).toMillis());
    // other data: recomputed
    List<StatisticsJob.Outcome> third =
        StatisticsJob.run(
            TestSpark.session(),
            List.of(new StatisticsJob.Source("a", a.toString(), outA, texts(0, 4))),
            OPTIONS,
            Map.of(),
            2);
    assertFalse(third.get(0).cached());
    assertEquals(4, third.get(0).sequences());
    StatisticsJob.run(TestSpark.session(), sources.subList(0, 1), OPTIONS, Map.of(), 2);
    // a statistics file gone: recomputed despite the marker
    Files.delete(Path.of(outB, MergeStatistics.Kind.FISHER.fileName()));
    List<StatisticsJob.Outcome> fourth =
        StatisticsJob.run(TestSpark.session(), sources, OPTIONS, Map.of(), 3);
    assertTrue(fourth.get(0).cached());
    assertFalse(fourth.get(1).cached());
    assertTrue(Files.exists(Path.of(outB, MergeStatistics.Kind.FISHER.fileName())));

    // a regmean merge of the two sources from these statistics, through the CLI
    Path recipe =
        Files.writeString(
            tmp.resolve("r.yaml"),
            "merge_method: regmean\nparameters: {alpha: 0.5}\nmodels:\n  - {model: a}\n"
                + "  - {model: b}\n");
    Path merged = tmp.resolve("merged");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc =
        Main.run(
            new String[] {
              "merge", recipe.toString(), "--out", merged.toString(),
              "--model", "a=" + a, "--model", "b=" + b,
              "--statistics", "a=" + outA, "--statistics", "b=" + outB
            },
            new PrintStream(new ByteArrayOutputStream()),
            new PrintStream(err));
    assertEquals(0, rc, err.toString(StandardCharsets.UTF_8));
    // (Ga~ + Gb~) Wm^T = Ga~ Wa^T + Gb~ Wb^T, with G~ = alpha G + (1 - alpha) diag(G)
    HfModelFolder m = HfModelFolder.open(merged.toString(), conf);
    FloatTensor wm = m.readFloat(q);
    FloatTensor wa = HfModelFolder.open(a.toString(), conf).readFloat(q);
    FloatTensor wb = HfModelFolder.open(b.toString(), conf).readFloat(q);
    float[] ga = read.gram("a", q).data();
    float[] gb = read.gram("b", q).data();
    int out = (int) wm.shape()[0];
    int in = (int) wm.shape()[1];
    double worst = 0;
    double scale = 0;
    for (int i = 0; i < in; i++) {
      for (int o = 0; o < out; o++) {
        double lhs = 0;
        double rhs = 0;
        for (int k = 0; k < in; k++) {
          double f = i == k ? 1 : 0.5;
          lhs += f * (ga[i * in + k] + gb[i * in + k]) * wm.data()[o * in + k];
          rhs +=
              f * (ga[i * in + k] * wa.data()[o * in + k] + gb[i * in + k] * wb.data()[o * in + k]);
        }
        worst = Math.max(worst, Math.abs(lhs - rhs));
        scale = Math.max(scale, Math.abs(rhs));
      }
    }
    assertTrue(scale > 0);
    assertTrue(worst < 1e-3 * scale, "residual " + worst + " of " + scale);
    float[] avg = new float[wa.data().length];
    for (int i = 0; i < avg.length; i++) {
      avg[i] = (wa.data()[i] + wb.data()[i]) / 2;
    }
    assertFalse(java.util.Arrays.equals(avg, wm.data()), "regmean gave the plain average");
  }

  @Test
  void commandWritesBesideTheOutFolderAndRejectsBadInput() throws Exception {
    TestSpark.session();
    ToyZoo.Zoo zoo = ToyFixtures.zoo();
    Path data =
        Files.writeString(
            tmp.resolve("d.jsonl"), "{\"text\": \"abc def\"}\n\n{\"text\": \"ghi\"}\n");
    Path out = tmp.resolve("s");
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String[] args = {
      "stats",
      "--model",
      zoo.sources().get(2).toString(),
      "--data",
      data.toString(),
      "--out",
      out.toString(),
      "--only",
      "gram",
      "--shards",
      "2"
    };
    assertEquals(
        0,
        Main.run(args, new PrintStream(stdout), new PrintStream(err)),
        err.toString(StandardCharsets.UTF_8));
    assertTrue(
        stdout.toString(StandardCharsets.UTF_8).startsWith("Wrote statistics of 2 rows"),
        stdout.toString(StandardCharsets.UTF_8));
    assertTrue(Files.exists(out.resolve("gram.safetensors")));
    assertFalse(Files.exists(out.resolve("fisher.safetensors")));
    stdout.reset();
    assertEquals(0, Main.run(args, new PrintStream(stdout), new PrintStream(err)));
    assertTrue(stdout.toString(StandardCharsets.UTF_8).startsWith("Reused statistics of 2 rows"));

    Path bad = Files.writeString(tmp.resolve("bad.jsonl"), "{\"text\": \"a\"}\n{\"txt\": 1}\n");
    err.reset();
    assertEquals(
        1,
        Main.run(
            new String[] {
              "stats", "--model", zoo.sources().get(2).toString(), "--data", bad.toString()
            },
            new PrintStream(stdout),
            new PrintStream(err)));
    assertTrue(
        err.toString(StandardCharsets.UTF_8)
            .contains("Row at " + bad + ":2 needs a string field text"),
        err.toString(StandardCharsets.UTF_8));
    err.reset();
    assertEquals(
        2,
        Main.run(
            new String[] {"stats", "--model", "x", "--data", data.toString(), "--only", "both"},
            new PrintStream(stdout),
            new PrintStream(err)));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("--only must be fisher or gram"));
    IllegalArgumentException tooBig =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                StatisticsJob.run(
                    TestSpark.session(),
                    List.of(
                        new StatisticsJob.Source(
                            "c", zoo.sources().get(2).toString(), null, List.of("abc"))),
                    new StatisticsOptions(false, true, 24, 1 << 16),
                    Map.of(),
                    1));
    assertTrue(tooBig.getMessage().contains("Gram matrices of model c need"), tooBig.getMessage());
    assertFalse(Files.exists(zoo.sources().get(2).resolve("statistics")));
  }
}
