package dev.evomerge.driver.zoo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelWriter;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.train.LlamaTrainer;
import dev.evomerge.worker.train.TrainOptions;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;

/**
 * Builds (once) and opens the trained zoo in a folder:
 *
 * <ul>
 *   <li>{@code base/}: pretrained on the mix: stories in the base language, aligned text (half of
 *       the stories, each followed by its translation), a quarter of the recipes, match reports and
 *       math problems, and a quarter of the second-language stories;
 *   <li>experts fine-tuned from the base, each on all of its own training texts: {@code math/}
 *       (word problems in the base language), {@code language/} (stories in the second language, no
 *       arithmetic), {@code recipes/}, {@code matches/};
 *   <li>{@code tasks/NAME-dev.jsonl}, {@code tasks/NAME-test.jsonl} for the tasks {@code math}
 *       (generate), {@code target} (generate: math posed in the second language, which no model was
 *       trained on), {@code language} and {@code recipes} (loglik), {@code matches} (multiple
 *       choice: which team wins); {@code data/} the training texts;
 *   <li>{@code zoo.json}: the design version, settings, lexicon, training losses and seconds,
 *       written last: a folder without it, or of another design, is rebuilt.
 * </ul>
 */
public final class TrainedZoo {
  /** The experts, in genome order. */
  public static final List<String> EXPERTS = List.of("math", "language", "recipes", "matches");

  /** The tasks, in table order. */
  public static final List<String> TASKS =
      List.of("target", "math", "language", "recipes", "matches");

  /**
   * The version of the zoo's data and training design, recorded in {@code zoo.json}: a zoo of
   * another design is rebuilt (2: the second language keeps the base word order and the base
   * pretrains on aligned text; 3: training is deterministic from the seed, a zoo trained before may
   * hold steps whose attention gradients read freed memory).
   */
  static final int DESIGN = 3;

  private static final ObjectMapper JSON = new ObjectMapper();

  private TrainedZoo() {}

  /** A built zoo: its folder, base and experts. */
  public record Zoo(Path dir, Path base, List<Path> experts) {
    public Path tokenizer() {
      return base.resolve("tokenizer.json");
    }

    public Path task(String name, String split) {
      return dir.resolve("tasks").resolve(name + "-" + split + ".jsonl");
    }
  }

  /** The zoo in {@code dir} when complete, else builds it (progress on {@code out}). */
  public static Zoo openOrCreate(Path dir, ZooSettings settings, PrintStream out) {
    Zoo zoo = layout(dir);
    if (isBuilt(dir)) {
      return zoo;
    }
    return create(dir, settings, out);
  }

  /** Whether {@code dir} holds a complete zoo of the current {@link #DESIGN}. */
  public static boolean isBuilt(Path dir) {
    return design(dir.resolve("zoo.json")) == DESIGN;
  }

  /** The design recorded in a zoo.json, -1 when the file is absent or unreadable. */
  private static int design(Path about) {
    if (!Files.exists(about)) {
      return -1;
    }
    try {
      return JSON.readTree(about.toFile()).path("design").asInt(-1);
    } catch (IOException e) {
      return -1;
    }
  }

  static Zoo layout(Path dir) {
    List<Path> experts = EXPERTS.stream().map(dir::resolve).toList();
    return new Zoo(dir, dir.resolve("base"), experts);
  }

  /** The model shape of a zoo with {@code vocab} tokens. */
  static LlamaConfig modelConfig(ZooSettings s, int vocab) {
    return new LlamaConfig(
        "LlamaForCausalLM",
        vocab,
        s.hiddenSize(),
        s.intermediateSize(),
        s.layers(),
        s.heads(),
        s.kvHeads(),
        s.hiddenSize() / s.heads(),
        1e-5,
        10000.0,
        false,
        WordVocabulary.BOS,
        WordVocabulary.EOS);
  }

  /** Every text of the zoo, by corpus and split, from the seed. */
  record Data(
      SyntheticLanguage language,
      WordVocabulary vocabulary,
      Map<String, List<String>> train,
      Map<String, List<ObjectNode>> dev,
      Map<String, List<ObjectNode>> test) {}

  static Data generate(ZooSettings s) {
    Set<String> words = Corpus.words();
    SyntheticLanguage l2 = SyntheticLanguage.create(words, s.seed());
    List<String> vocab = new ArrayList<>(List.of(".", "?"));
    for (int i = 0; i <= Corpus.MAX_NUMBER; i++) {
      vocab.add(Integer.toString(i));
    }
    vocab.addAll(words);
    vocab.addAll(l2.lexicon().values());
    WordVocabulary vocabulary = new WordVocabulary(vocab);
    int tr = s.trainRows();
    int dv = s.devRows();
    int te = s.testRows();
    Map<String, List<String>> train = new LinkedHashMap<>();
    Map<String, List<ObjectNode>> dev = new LinkedHashMap<>();
    Map<String, List<ObjectNode>> test = new LinkedHashMap<>();

    List<List<String>> stories = Corpus.distinctSplits(rng(s, 1), Corpus::story, t -> t, tr, 0, 0);
    train.put("stories", stories.get(0));
    // aligned text for the base: half of the stories, each followed by its translation
    train.put(
        "parallel",
        stories.get(0).subList(0, tr / 2).stream().map(t -> t + " " + l2.translate(t)).toList());

    List<List<String>> l2Stories =
        Corpus.distinctSplits(rng(s, 2), Corpus::story, t -> t, tr, dv, te);
    train.put("language", l2Stories.get(0).stream().map(l2::translate).toList());
    dev.put("language", texts(l2Stories.get(1).stream().map(l2::translate).toList()));
    test.put("language", texts(l2Stories.get(2).stream().map(l2::translate).toList()));

    List<List<String>> recipes =
        Corpus.distinctSplits(rng(s, 3), Corpus::recipe, t -> t, tr, dv, te);
    train.put("recipes", recipes.get(0));
    dev.put("recipes", texts(recipes.get(1)));
    test.put("recipes", texts(recipes.get(2)));

    List<List<String[]>> matches =
        // only 1680 distinct reports exist (team pairs x scores): at most 1000 train on
        Corpus.distinctSplits(rng(s, 4), Corpus::matchParts, p -> p[0], Math.min(tr, 1000), dv, te);
    SplittableRandom fans = rng(s, 5);
    train.put(
        "matches",
        matches.get(0).stream()
            .map(p -> p[0] + " " + p[1] + " " + Corpus.FANS.get(fans.nextInt(4)) + " .")
            .toList());
    SplittableRandom order = rng(s, 6);
    dev.put("matches", choices(matches.get(1), order));
    test.put("matches", choices(matches.get(2), order));

    // one pool of distinct problems: base-language train/dev/test, then the target's dev/test
    // (the target's problems are never seen in any language in training)
    List<List<Corpus.Problem>> math =
        Corpus.distinctSplits(
            rng(s, 7), Corpus::problem, Corpus.Problem::prompt, tr, dv, te, dv, te);
    train.put("math", math.get(0).stream().map(Corpus.Problem::text).toList());
    dev.put("math", problems(math.get(1), p -> p));
    test.put("math", problems(math.get(2), p -> p));
    dev.put("target", problems(math.get(3), l2::translate));
    test.put("target", problems(math.get(4), l2::translate));
    return new Data(l2, vocabulary, train, dev, test);
  }

  static Zoo create(Path dir, ZooSettings s, PrintStream out) {
    long started = System.nanoTime();
    Data data = generate(s);
    LlamaConfig config = modelConfig(s, data.vocabulary().size());
    Zoo zoo = layout(dir);
    try {
      Files.createDirectories(dir);
      writeData(dir, data);
      Path tokenizerDir = Files.createDirectories(dir.resolve("tokenizer"));
      List<Path> tokenizerFiles = data.vocabulary().write(tokenizerDir);

      List<long[]> baseCorpus = new ArrayList<>();
      encodeInto(data.train().get("stories"), 1, data.vocabulary(), baseCorpus);
      encodeInto(data.train().get("parallel"), 1, data.vocabulary(), baseCorpus);
      for (String corpus : List.of("recipes", "matches", "math", "language")) {
        encodeInto(data.train().get(corpus), 4, data.vocabulary(), baseCorpus);
      }
      long totalSteps = s.baseSteps() + (long) EXPERTS.size() * s.expertSteps();
      ProgressBar bar = new ProgressBar(out, totalSteps);
      long[] done = {0};
      ObjectNode about = JSON.createObjectNode();
      ObjectNode losses = about.putObject("training");

      LlamaTrainer.Result base =
          LlamaTrainer.train(
              config,
              LlamaTrainer.initialWeights(config, s.seed()),
              baseCorpus,
              new TrainOptions(
                  s.baseSteps(),
                  s.batchSize(),
                  s.baseLearningRate(),
                  Math.max(1, s.baseSteps() / 20),
                  0.01,
                  s.seed() + 100),
              (step, steps, loss) -> bar.update(++done[0], label("base", step, steps, loss)));
      write(zoo.base(), config, base.weights(), tokenizerFiles);
      record(losses, "base", base);
      for (int i = 0; i < EXPERTS.size(); i++) {
        String name = EXPERTS.get(i);
        List<long[]> corpus = new ArrayList<>();
        encodeInto(data.train().get(name), 1, data.vocabulary(), corpus);
        LlamaTrainer.Result expert =
            LlamaTrainer.train(
                config,
                base.weights(),
                corpus,
                new TrainOptions(
                    s.expertSteps(),
                    s.batchSize(),
                    s.expertLearningRate(),
                    Math.max(1, s.expertSteps() / 20),
                    0.0,
                    s.seed() + 200 + i),
                (step, steps, loss) -> bar.update(++done[0], label(name, step, steps, loss)));
        write(zoo.experts().get(i), config, expert.weights(), tokenizerFiles);
        record(losses, name, expert);
      }
      bar.finish();
      about.put("design", DESIGN);
      about.put("seed", s.seed());
      about.put("seconds", (System.nanoTime() - started) / 1e9);
      about.set("settings", JSON.valueToTree(s));
      about.put("vocab_size", data.vocabulary().size());
      about.put(
          "description",
          "base pretrained on a mix; experts fine-tuned from it; target = math problems in the"
              + " synthetic language (own content words, shared function words and word order), trained"
              + " on by no model");
      ObjectNode lexicon = about.putObject("lexicon");
      data.language().lexicon().forEach(lexicon::put);
      Files.writeString(
          dir.resolve("zoo.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(about));
      return zoo;
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write the trained zoo in " + dir, e);
    }
  }

  private static String label(String model, int step, int steps, double loss) {
    return String.format(Locale.ROOT, "%-8s step %d/%d loss %.3f", model, step, steps, loss);
  }

  private static void record(ObjectNode losses, String name, LlamaTrainer.Result r) {
    ObjectNode n = losses.putObject(name);
    n.put("first_loss", r.firstLoss());
    n.put("final_loss", r.finalLoss(20));
    n.put("steps", r.losses().length);
  }

  private static void encodeInto(
      List<String> texts, int every, WordVocabulary vocabulary, List<long[]> out) {
    for (int i = 0; i < texts.size(); i += every) {
      out.add(vocabulary.encode(texts.get(i)));
    }
  }

  private static void write(
      Path target, LlamaConfig config, Map<String, FloatTensor> weights, List<Path> tokenizer) {
    if (Files.exists(target)) {
      deleteTree(target);
    }
    HfModelWriter.write(
        new org.apache.hadoop.fs.Path(target.toUri()),
        new Configuration(),
        config.toJson(JSON.createObjectNode()),
        weights,
        DType.F32,
        tokenizer.stream().map(p -> new org.apache.hadoop.fs.Path(p.toUri())).toList());
  }

  private static void writeData(Path dir, Data data) throws IOException {
    Path tasks = Files.createDirectories(dir.resolve("tasks"));
    Path corpora = Files.createDirectories(dir.resolve("data"));
    for (Map.Entry<String, List<String>> e : data.train().entrySet()) {
      writeLines(corpora.resolve(e.getKey() + "-train.jsonl"), texts(e.getValue()));
    }
    for (String task : TASKS) {
      writeLines(tasks.resolve(task + "-dev.jsonl"), data.dev().get(task));
      writeLines(tasks.resolve(task + "-test.jsonl"), data.test().get(task));
    }
  }

  private static void writeLines(Path file, List<ObjectNode> rows) throws IOException {
    String lines = rows.stream().map(ObjectNode::toString).collect(Collectors.joining("\n"));
    Files.writeString(file, lines + "\n", StandardCharsets.UTF_8);
  }

  private static List<ObjectNode> texts(List<String> texts) {
    return texts.stream().map(t -> JSON.createObjectNode().put("text", t)).toList();
  }

  private static List<ObjectNode> problems(
      List<Corpus.Problem> problems, java.util.function.UnaryOperator<String> language) {
    return problems.stream()
        .map(
            p ->
                JSON.createObjectNode()
                    .put("prompt", language.apply(p.prompt()))
                    .put("answer", Integer.toString(p.answer())))
        .toList();
  }

  private static List<ObjectNode> choices(List<String[]> parts, SplittableRandom order) {
    List<ObjectNode> out = new ArrayList<>();
    for (String[] p : parts) {
      String right = p[1].split(" ")[0] + " team wins .";
      String wrong = p[2] + " team wins .";
      boolean first = order.nextBoolean();
      ObjectNode row = JSON.createObjectNode().put("context", p[0]);
      ArrayNode c = row.putArray("choices");
      c.add(first ? right : wrong);
      c.add(first ? wrong : right);
      row.put("answer", first ? 0 : 1);
      out.add(row);
    }
    return out;
  }

  private static SplittableRandom rng(ZooSettings s, int stream) {
    return new SplittableRandom(s.seed() * 1_000_003L + stream);
  }

  private static void deleteTree(Path p) {
    try (var walk = Files.walk(p)) {
      for (Path q : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(q);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot delete " + p, e);
    }
  }

  /** Distinct texts of a list, for checks that splits do not overlap. */
  static Set<String> keys(List<ObjectNode> rows) {
    Set<String> out = new LinkedHashSet<>();
    rows.forEach(r -> out.add(r.toString()));
    return out;
  }
}
