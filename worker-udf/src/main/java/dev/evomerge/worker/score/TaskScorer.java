package dev.evomerge.worker.score;

import ai.djl.ndarray.NDManager;
import dev.evomerge.worker.model.LanguageModel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Scores one task's rows under a model, giving the task's partial sums and per-row results.
 *
 * <p>Definitions follow lm-evaluation-harness: a continuation is scored as {@code tokens(context +
 * continuation)} minus the tokens of the context, with the context's trailing whitespace moved to
 * the continuation; multiple_choice continuations are {@code target_delimiter + choice}; acc picks
 * the most likely choice and acc_norm the most likely per UTF-8 byte of the choice. Ties go to the
 * first choice.
 */
public final class TaskScorer {
  private TaskScorer() {}

  /**
   * @param batchSize sequences per forward pass
   * @param maxLength longest sequence fed to the model; longer ones lose tokens on the left
   *     (loglik: on the right, like the skeleton's scorer)
   */
  public static TaskResult score(
      LanguageModel model,
      NDManager manager,
      TextTokenizer tokenizer,
      TaskSpec spec,
      List<TaskExample> rows,
      int batchSize,
      int maxLength) {
    return score(model, manager, tokenizer, prepare(tokenizer, spec, rows, maxLength), batchSize);
  }

  /**
   * A task's rows tokenised: the half of scoring that does not depend on the model, done once per
   * shard and reused for every candidate.
   */
  public static final class PreparedTask {
    final TaskSpec spec;
    final List<TaskExample> rows;

    /** loglik, multiple_choice, classify: the sequences whose continuations are scored. */
    final List<ContinuationScorer.Request> requests = new ArrayList<>();

    /** multiple_choice, classify: each row's options, in request order. */
    final List<List<String>> options = new ArrayList<>();

    /** generate: each row's prompt. */
    final List<long[]> prompts = new ArrayList<>();

    private PreparedTask(TaskSpec spec, List<TaskExample> rows) {
      this.spec = spec;
      this.rows = List.copyOf(rows);
    }

    public TaskSpec spec() {
      return spec;
    }

    /** Tokens of the longest sequence a forward pass sees (generate: prompt and new tokens). */
    public int longestSequence() {
      int longest = 1;
      for (ContinuationScorer.Request r : requests) {
        longest = Math.max(longest, r.tokens().length);
      }
      for (long[] p : prompts) {
        longest = Math.max(longest, p.length + spec.maxNewTokens());
      }
      return longest;
    }
  }

  /**
   * Tokenises {@code rows} for {@code spec}.
   *
   * @param maxLength longest sequence fed to the model; longer ones lose tokens on the left
   *     (loglik: on the right, like the skeleton's scorer)
   */
  public static PreparedTask prepare(
      TextTokenizer tokenizer, TaskSpec spec, List<TaskExample> rows, int maxLength) {
    PreparedTask task = new PreparedTask(spec, rows);
    switch (spec.kind()) {
      case LOGLIK -> {
        for (TaskExample row : rows) {
          long[] seq = concat(tokenizer.prefix(), tokenizer.encode(row.input()));
          seq = Arrays.copyOf(seq, Math.min(seq.length, maxLength));
          task.requests.add(new ContinuationScorer.Request(seq, Math.max(0, seq.length - 1)));
        }
      }
      case MULTIPLE_CHOICE, CLASSIFY -> {
        for (TaskExample row : rows) {
          List<String> opts = new ArrayList<>();
          if (spec.kind() == TaskKind.CLASSIFY) {
            spec.labels().forEach(l -> opts.add(spec.verbalizers().get(l)));
          } else {
            opts.addAll(row.choices());
          }
          task.options.add(opts);
          for (String o : opts) {
            task.requests.add(pair(tokenizer, row.input(), spec.targetDelimiter() + o, maxLength));
          }
        }
      }
      case GENERATE -> {
        int budget = Math.max(1, maxLength - spec.maxNewTokens());
        for (TaskExample row : rows) {
          long[] p = concat(tokenizer.prefix(), tokenizer.encode(row.input()));
          if (p.length == 0) {
            p = new long[] {Math.max(0, tokenizer.eosTokenId())};
          }
          task.prompts.add(
              p.length > budget ? Arrays.copyOfRange(p, p.length - budget, p.length) : p);
        }
      }
    }
    return task;
  }

  /**
   * Scores a prepared task with {@code model}.
   *
   * @param tokenizer decodes generated text ({@code generate} tasks)
   * @param batchSize sequences per forward pass
   */
  public static TaskResult score(
      LanguageModel model,
      NDManager manager,
      TextTokenizer tokenizer,
      PreparedTask task,
      int batchSize) {
    long start = System.nanoTime();
    TaskResult r =
        switch (task.spec.kind()) {
          case LOGLIK -> loglik(model, manager, task, batchSize);
          case MULTIPLE_CHOICE, CLASSIFY -> choices(model, manager, task, batchSize);
          case GENERATE -> generate(model, manager, tokenizer, task, batchSize);
        };
    TaskPartial p = r.partial();
    return new TaskResult(
        new TaskPartial(
            p.task(),
            p.examples(),
            p.sumLogLik(),
            p.tokens(),
            p.correct(),
            p.correctNorm(),
            p.confusion(),
            System.nanoTime() - start),
        r.examples());
  }

  private static TaskResult loglik(
      LanguageModel model, NDManager manager, PreparedTask task, int batchSize) {
    double[] ll = ContinuationScorer.score(model, manager, task.requests, batchSize);
    double sum = 0;
    long tokens = 0;
    List<ExampleResult> examples = new ArrayList<>();
    for (int i = 0; i < task.rows.size(); i++) {
      sum += ll[i];
      int scored = task.requests.get(i).scored();
      examples.add(
          new ExampleResult(
              task.spec.name(), task.rows.get(i).index(), ll[i], true, "", scored, false, -1, -1));
      tokens += scored;
    }
    return new TaskResult(
        new TaskPartial(task.spec.name(), task.rows.size(), sum, tokens, 0, 0, new long[0], 0),
        examples);
  }

  /** multiple_choice and classify: the most likely of several continuations. */
  private static TaskResult choices(
      LanguageModel model, NDManager manager, PreparedTask task, int batchSize) {
    TaskSpec spec = task.spec;
    boolean classify = spec.kind() == TaskKind.CLASSIFY;
    List<String> labels = spec.labels();
    double[] ll = ContinuationScorer.score(model, manager, task.requests, batchSize);
    int n = labels.size();
    long[] confusion = new long[classify ? n * n : 0];
    long correct = 0;
    long correctNorm = 0;
    List<ExampleResult> examples = new ArrayList<>();
    int k = 0;
    for (int i = 0; i < task.rows.size(); i++) {
      TaskExample row = task.rows.get(i);
      List<String> opts = task.options.get(i);
      int best = 0;
      int bestNorm = 0;
      double bestNormValue = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < opts.size(); j++) {
        double v = ll[k + j];
        if (v > ll[k + best]) {
          best = j;
        }
        double norm = v / Math.max(1, opts.get(j).getBytes(StandardCharsets.UTF_8).length);
        if (norm > bestNormValue) {
          bestNormValue = norm;
          bestNorm = j;
        }
      }
      int gold = classify ? labels.indexOf(row.answer()) : row.answerIndex();
      boolean ok = best == gold;
      correct += ok ? 1 : 0;
      correctNorm += bestNorm == gold ? 1 : 0;
      if (classify) {
        confusion[gold * n + best]++;
      }
      examples.add(
          new ExampleResult(
              spec.name(),
              row.index(),
              ll[k + best],
              ok,
              classify ? labels.get(best) : String.valueOf(best),
              0,
              bestNorm == gold,
              best,
              gold));
      k += opts.size();
    }
    return new TaskResult(
        new TaskPartial(spec.name(), task.rows.size(), 0, 0, correct, correctNorm, confusion, 0),
        examples);
  }

  private static TaskResult generate(
      LanguageModel model,
      NDManager manager,
      TextTokenizer tokenizer,
      PreparedTask task,
      int batchSize) {
    TaskSpec spec = task.spec;
    List<String> outputs =
        GreedyGenerator.generate(
            model, manager, tokenizer, task.prompts, spec.maxNewTokens(), spec.stop(), batchSize);
    long correct = 0;
    List<ExampleResult> examples = new ArrayList<>();
    for (int i = 0; i < task.rows.size(); i++) {
      String answer = AnswerMatcher.extract(outputs.get(i), spec.answerRegex());
      boolean ok = AnswerMatcher.matches(answer, task.rows.get(i).answer(), spec.match());
      correct += ok ? 1 : 0;
      examples.add(
          new ExampleResult(
              spec.name(), task.rows.get(i).index(), ok ? 1 : 0, ok, answer, 0, false, -1, -1));
    }
    return new TaskResult(
        new TaskPartial(spec.name(), task.rows.size(), 0, 0, correct, 0, new long[0], 0), examples);
  }

  /**
   * lm-eval's pair encoding: trailing whitespace of the context moves to the continuation; the
   * continuation's tokens are those of the whole text after the context's tokens.
   */
  static ContinuationScorer.Request pair(
      TextTokenizer tokenizer, String context, String continuation, int maxLength) {
    int cut = context.length();
    while (cut > 0 && Character.isWhitespace(context.charAt(cut - 1))) {
      cut--;
    }
    continuation = context.substring(cut) + continuation;
    context = context.substring(0, cut);
    long[] whole = tokenizer.encode(context + continuation);
    long[] ctx = tokenizer.encode(context);
    long[] prefix = tokenizer.prefix();
    if (prefix.length == 0 && ctx.length == 0) {
      // nothing to condition on: lm-eval conditions on the end-of-text token
      prefix = new long[] {Math.max(0, tokenizer.eosTokenId())};
    }
    int contLength = Math.max(0, whole.length - ctx.length);
    long[] cont = Arrays.copyOfRange(whole, whole.length - contLength, whole.length);
    long[] head = concat(prefix, Arrays.copyOf(whole, whole.length - contLength));
    return ContinuationScorer.Request.of(head, cont, maxLength);
  }

  static long[] concat(long[] a, long[] b) {
    long[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
