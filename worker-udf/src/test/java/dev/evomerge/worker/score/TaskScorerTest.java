package dev.evomerge.worker.score;

import static dev.evomerge.worker.score.BigramFixture.BOS;
import static dev.evomerge.worker.score.BigramFixture.EOS;
import static dev.evomerge.worker.score.BigramFixture.id;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.evomerge.worker.model.LlamaModel;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TaskScorerTest {
  static NDManager manager;
  static TextTokenizer tokenizer;
  static BigramFixture bigram;
  static LlamaModel model;

  @BeforeAll
  static void open() {
    manager = NDManager.newBaseManager(Device.cpu());
    tokenizer = BigramFixture.tokenizer(true);
    bigram = new BigramFixture();
    // digits count up (9 ends the text), '=' is followed by 3, BOS by 1; after a digit, the
    // verbaliser of its parity (a even, b odd) is likelier than the other
    for (char d = '0'; d <= '9'; d++) {
      bigram.set(id(d), d == '9' ? EOS : id((char) (d + 1)), 4);
      bigram.set(id(d), (d - '0') % 2 == 0 ? id('a') : id('b'), 2);
    }
    bigram.set(id('='), id('3'), 4).set(BOS, id('1'), 3).set(id(' '), id('a'), 1);
    model = bigram.model(manager);
  }

  @AfterAll
  static void close() {
    tokenizer.close();
    manager.close();
  }

  static TaskResult score(TaskSpec spec, List<TaskExample> rows, int batchSize) {
    try (NDScope scope = new NDScope()) {
      scope.suppressNotUsedWarning();
      return TaskScorer.score(model, manager, tokenizer, spec, rows, batchSize, 64);
    }
  }

  @Test
  void tokenizerTakesSpecialTokensFromTheTokenizerConfig() {
    assertEquals(BOS, tokenizer.bosTokenId());
    assertEquals(EOS, tokenizer.eosTokenId());
    assertArrayEquals(new long[] {BOS}, tokenizer.prefix());
    assertArrayEquals(new long[] {id('1'), id('+'), id('2')}, tokenizer.encode("1+2"));
    assertEquals("1+2", tokenizer.decode(new long[] {BOS, id('1'), id('+'), id('2'), EOS}));
    assertEquals(3000, tokenizer.encode("0123456789".repeat(300)).length, "no silent truncation");
    try (TextTokenizer noBos = BigramFixture.tokenizer(false)) {
      assertArrayEquals(new long[0], noBos.prefix());
    }
  }

  @Test
  void loglikSumsTokenLogProbabilitiesAfterBosWhateverTheBatchSize() {
    TaskSpec spec = TaskSpec.of("lm", "", TaskKind.LOGLIK, 1);
    List<TaskExample> rows =
        List.of(
            TaskExample.text(0, "1234"),
            TaskExample.text(1, "7a 0"),
            TaskExample.text(2, "="),
            TaskExample.text(3, "90"));
    double expected = 0;
    long tokens = 0;
    for (TaskExample r : rows) {
      expected += bigram.logp(BOS, r.input());
      tokens += r.input().length();
    }
    for (int batch : new int[] {1, 3, 8}) {
      TaskPartial p = score(spec, rows, batch).partial();
      assertEquals(expected, p.sumLogLik(), 1e-4, "batch size " + batch);
      assertEquals(tokens, p.tokens());
      assertEquals(expected / tokens, p.metric("mean_loglik"), 1e-5);
      assertEquals(Math.exp(-expected / tokens), p.metric("perplexity"), 1e-4);
    }
    ExampleResult first = score(spec, rows, 2).examples().get(0);
    assertEquals(bigram.logp(BOS, "1234"), first.score(), 1e-4);
  }

  @Test
  void withoutBosTheFirstTokenIsContextNotScored() {
    TaskSpec spec = TaskSpec.of("lm", "", TaskKind.LOGLIK, 1);
    TaskPartial p;
    try (TextTokenizer noBos = BigramFixture.tokenizer(false);
        NDScope scope = new NDScope()) {
      scope.suppressNotUsedWarning();
      p =
          TaskScorer.score(model, manager, noBos, spec, List.of(TaskExample.text(0, "1234")), 1, 64)
              .partial();
    }
    assertEquals(3, p.tokens());
    assertEquals(bigram.logp(id('1'), "234"), p.sumLogLik(), 1e-4);
  }

  @Test
  void multipleChoiceAccuracyAndByteNormalisedAccuracyFollowLmEval() {
    TaskSpec spec =
        new TaskSpec(
            "mc",
            "",
            TaskKind.MULTIPLE_CHOICE,
            "acc",
            Direction.HIGHER,
            1,
            1,
            List.of(),
            TaskSpec.LAST_NUMBER,
            "exact",
            Map.of(),
            "");
    // row 0: "3" follows "1+1=" by the table; row 1: "3a" is likelier in total, "3456789a" per
    // byte, and the gold answer is the long one; row 2: trailing space of the context moves to the
    // continuation, so " a" after "2" is scored as ' ' after '2' then 'a' after ' '
    List<TaskExample> rows =
        List.of(
            TaskExample.choice(0, "1+1=", List.of("3", "7"), 0),
            TaskExample.choice(1, "2", List.of("3a", "3456789a"), 1),
            TaskExample.choice(2, "2 ", List.of("b", "a"), 1));
    double shortTotal = bigram.logp(id('2'), "3a");
    double longTotal = bigram.logp(id('2'), "3456789a");
    assertTrue(shortTotal > longTotal && shortTotal / 2 < longTotal / 8, "fixture as intended");
    TaskResult r = score(spec, rows, 2);
    // acc: rows 0 and 2 right; acc_norm: all three
    assertEquals(2.0 / 3, r.partial().metric("acc"), 1e-12);
    assertEquals(1.0, r.partial().metric("acc_norm"), 1e-12);
    assertEquals("0", r.examples().get(1).prediction());
    assertEquals(shortTotal, r.examples().get(1).score(), 1e-4);
    assertEquals(bigram.logp(id('2'), " a"), r.examples().get(2).score(), 1e-4);
    assertFalse(r.examples().get(1).correct());
  }

  @Test
  void classifyPicksTheLikeliestVerbaliserAndReportsMacroF1() {
    TaskSpec spec =
        TaskSpec.fromMap(
            Map.of(
                "name", "parity",
                "kind", "classify",
                "metric", "macro_f1",
                "verbalizers", Map.of("even", "a", "odd", "b"),
                "target_delimiter", ""),
            "test");
    List<TaskExample> rows =
        List.of(
            TaskExample.target(0, "2", "even"),
            TaskExample.target(1, "3", "odd"),
            TaskExample.target(2, "5", "even"),
            TaskExample.target(3, "8", "even"));
    TaskResult r = score(spec, rows, 3);
    assertEquals(3.0 / 4, r.partial().metric("acc"), 1e-12);
    // even: tp 2, 3 gold, 2 predicted -> 0.8; odd: tp 1, 1 gold, 2 predicted -> 2/3
    assertEquals((0.8 + 2.0 / 3) / 2, r.partial().metric("macro_f1"), 1e-12);
    assertArrayEquals(new long[] {2, 1, 0, 1}, r.partial().confusion());
    assertEquals("odd", r.examples().get(2).prediction());
  }

  @Test
  void generateDecodesGreedilyStopsAndMatchesTheExtractedAnswer() {
    TaskSpec spec =
        TaskSpec.fromMap(Map.of("name", "count", "kind", "generate", "max_new_tokens", 3), "t");
    List<TaskExample> rows =
        List.of(
            TaskExample.target(0, "1+2=", "345"),
            TaskExample.target(1, "7", "The answer is #### 89"),
            TaskExample.target(2, "11+22=", "346"),
            TaskExample.target(3, "0", "123.0"));
    for (int batch : new int[] {1, 4}) {
      TaskResult r = score(spec, rows, batch);
      // "345"; "89" then EOS; "345" is not 346; "123" equals 123.0 numerically
      assertEquals(List.of("345", "89", "345", "123"), predictions(r));
      assertEquals(
          List.of(true, true, false, true),
          r.examples().stream().map(ExampleResult::correct).toList());
      assertEquals(0.75, r.partial().metric("exact_match"), 1e-12, "batch " + batch);
    }
    TaskSpec stopped =
        TaskSpec.fromMap(
            Map.of(
                "name",
                "stop",
                "kind",
                "generate",
                "max_new_tokens",
                10,
                "stop",
                List.of("6"),
                "match",
                "exact",
                "answer_regex",
                "(.*)"),
            "t");
    TaskResult s = score(stopped, List.of(TaskExample.target(0, "=", "345")), 1);
    assertEquals(List.of("345"), predictions(s));
    assertTrue(s.examples().get(0).correct());
  }

  static List<String> predictions(TaskResult r) {
    return r.examples().stream().map(ExampleResult::prediction).toList();
  }

  @Test
  void perRowColumnsAddUpToEveryMetricOfEveryKind() {
    TaskSpec lm = TaskSpec.of("lm", "", TaskKind.LOGLIK, 1);
    List<TaskExample> texts =
        List.of(TaskExample.text(0, "1234"), TaskExample.text(1, "7a 0"), TaskExample.text(2, "="));
    TaskSpec mc = TaskSpec.fromMap(Map.of("name", "mc", "kind", "multiple_choice"), "t");
    List<TaskExample> choices =
        List.of(
            TaskExample.choice(0, "1+1=", List.of("3", "7"), 0),
            TaskExample.choice(1, "2", List.of("3a", "3456789a"), 1),
            TaskExample.choice(2, "2 ", List.of("b", "a"), 1));
    TaskSpec cls =
        TaskSpec.fromMap(
            Map.of(
                "name", "parity",
                "kind", "classify",
                "verbalizers", Map.of("even", "a", "odd", "b"),
                "target_delimiter", ""),
            "t");
    List<TaskExample> labelled =
        List.of(
            TaskExample.target(0, "2", "even"),
            TaskExample.target(1, "3", "odd"),
            TaskExample.target(2, "5", "even"),
            TaskExample.target(3, "8", "even"));
    TaskSpec gen =
        TaskSpec.fromMap(Map.of("name", "count", "kind", "generate", "max_new_tokens", 3), "t");
    List<TaskExample> prompts =
        List.of(TaskExample.target(0, "1+2=", "345"), TaskExample.target(1, "11+22=", "346"));
    Map<TaskSpec, List<TaskExample>> tasks =
        Map.of(lm, texts, mc, choices, cls, labelled, gen, prompts);
    for (Map.Entry<TaskSpec, List<TaskExample>> t : tasks.entrySet()) {
      TaskSpec spec = t.getKey();
      List<TaskExample> rows = t.getValue();
      TaskResult whole = score(spec, rows, 2);
      // two shards, sent back as columns and concatenated in the other order
      int half = rows.size() / 2;
      ExampleScores columns =
          ExampleScores.of(spec.name(), score(spec, rows.subList(half, rows.size()), 2).examples())
              .plus(
                  ExampleScores.of(spec.name(), score(spec, rows.subList(0, half), 2).examples()));
      assertEquals(rows.size(), columns.size());
      TaskPartial rebuilt = fromColumns(columns, spec.labels().size());
      for (String metric : spec.kind().metrics()) {
        assertEquals(
            whole.partial().metric(metric),
            rebuilt.metric(metric),
            1e-9,
            spec.name() + " " + metric + " from per-row columns");
      }
    }
  }

  @Test
  void continuationsScoredOnlyWhereScoredEqualTheFullLmHead() {
    TaskSpec mc = TaskSpec.fromMap(Map.of("name", "mc", "kind", "multiple_choice"), "t");
    List<TaskExample> rows =
        List.of(
            TaskExample.choice(0, "1+1=", List.of("3", "7"), 0),
            TaskExample.choice(1, "2", List.of("3a", "3456789a"), 1),
            TaskExample.choice(2, "12345678 ", List.of("b", "a 9"), 1));
    List<ContinuationScorer.Request> requests =
        TaskScorer.prepare(tokenizer, mc, rows, 64).requests;
    double[] expected = new double[requests.size()];
    try (NDScope scope = new NDScope()) {
      scope.suppressNotUsedWarning();
      for (int i = 0; i < requests.size(); i++) {
        long[] s = requests.get(i).tokens();
        long[] in = java.util.Arrays.copyOf(s, s.length - 1);
        float[] lp =
            model
                .logProbs(manager.create(in, new ai.djl.ndarray.types.Shape(1, in.length)))
                .toFloatArray();
        int v = (int) (lp.length / in.length);
        for (int t = in.length - requests.get(i).scored(); t < in.length; t++) {
          expected[i] += lp[t * v + (int) s[t + 1]];
        }
      }
      for (int batch : new int[] {1, 3, 6}) {
        assertArrayEquals(
            expected,
            ContinuationScorer.score(model, manager, requests, batch),
            1e-5,
            "batch " + batch);
      }
    }
  }

  /** The partial sums a reader of examples.jsonl would compute from the per-row columns. */
  static TaskPartial fromColumns(ExampleScores e, int labels) {
    double sum = 0;
    long tokens = 0;
    long correct = 0;
    long norm = 0;
    long[] confusion = new long[labels * labels];
    for (int i = 0; i < e.size(); i++) {
      sum += e.score()[i];
      tokens += e.tokens()[i];
      correct += e.correct()[i] ? 1 : 0;
      norm += e.correctNorm()[i] ? 1 : 0;
      if (labels > 0) {
        confusion[e.gold()[i] * labels + e.predicted()[i]]++;
      }
    }
    return new TaskPartial(e.task(), e.size(), sum, tokens, correct, norm, confusion, 0);
  }

  @Test
  void partialsOfDisjointShardsAddUpToTheWhole() {
    TaskSpec spec =
        TaskSpec.fromMap(
            Map.of("name", "p", "kind", "classify", "verbalizers", Map.of("x", "a", "y", "b")),
            "t");
    List<TaskExample> rows =
        List.of(
            TaskExample.target(0, "2", "x"),
            TaskExample.target(1, "3", "x"),
            TaskExample.target(2, "4", "y"),
            TaskExample.target(3, "5", "y"));
    TaskResult whole = score(spec, rows, 4);
    TaskResult sum = score(spec, rows.subList(2, 4), 4).plus(score(spec, rows.subList(0, 2), 4));
    assertEquals(whole.partial().correct(), sum.partial().correct());
    assertArrayEquals(whole.partial().confusion(), sum.partial().confusion());
    assertEquals(whole.partial().metric("macro_f1"), sum.partial().metric("macro_f1"), 1e-12);
    assertEquals(whole.examples(), sum.examples());
  }

  @Test
  void fitnessWeighsTasksAndNegatesLowerIsBetterMetrics() {
    TaskSpec ppl =
        TaskSpec.fromMap(
            Map.of("name", "lm", "kind", "loglik", "metric", "perplexity", "weight", 1), "a");
    assertEquals(Direction.LOWER, ppl.direction());
    TaskSpec acc =
        TaskSpec.fromMap(
            Map.of("name", "mc", "kind", "multiple_choice", "direction", "higher", "weight", 3),
            "b");
    FitnessFunction f = new FitnessFunction(List.of(ppl, acc));
    TaskPartial lm = new TaskPartial("lm", 2, -10 * Math.log(4), 10, 0, 0, new long[0], 0);
    TaskPartial mc = new TaskPartial("mc", 4, 0, 0, 3, 0, new long[0], 0);
    assertEquals(4.0, lm.metric("perplexity"), 1e-12);
    assertEquals((1 * -4.0 + 3 * 0.75) / 4, f.fitness(Map.of("lm", lm, "mc", mc)), 1e-12);
    IllegalArgumentException wrong =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                TaskSpec.fromMap(
                    Map.of(
                        "name",
                        "x",
                        "kind",
                        "loglik",
                        "metric",
                        "perplexity",
                        "direction",
                        "higher"),
                    "c"));
    assertTrue(wrong.getMessage().contains("lower-is-better"), wrong.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> TaskSpec.fromMap(Map.of("name", "x", "kind", "loglik", "wieght", 2), "c"));
    assertThrows(
        IllegalArgumentException.class,
        () -> TaskSpec.fromMap(Map.of("name", "x", "kind", "loglik", "weight", -1), "c"));
  }

  @Test
  void taskRowsAreReadFromJsonlWithClearErrors() {
    TaskSpec mc = TaskSpec.of("mc", "x.jsonl", TaskKind.MULTIPLE_CHOICE, 1);
    List<TaskExample> rows =
        TaskData.parse(
            mc,
            List.of(
                "{\"context\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 1}",
                "",
                "{\"question\": \"r\", \"choices\": [\"c\", \"d\", \"e\"], \"gold\": 0}"),
            "x.jsonl");
    assertEquals(TaskExample.choice(1, "r", List.of("c", "d", "e"), 0), rows.get(1));
    IllegalArgumentException bad =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                TaskData.parse(
                    mc,
                    List.of("{\"context\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 2}"),
                    "x.jsonl"));
    assertTrue(bad.getMessage().contains("x.jsonl:1"), bad.getMessage());
  }
}
