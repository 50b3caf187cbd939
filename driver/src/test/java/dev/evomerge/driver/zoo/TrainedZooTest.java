package dev.evomerge.driver.zoo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.model.LlamaConfig;
import dev.evomerge.worker.model.ModelWeights;
import dev.evomerge.worker.score.TextTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainedZooTest {
  static {
    // one PyTorch thread, as the demo trains: on a shared CPU OpenMP's spinning threads cost 10x
    System.setProperty(
        "ai.djl.pytorch.num_threads", System.getProperty("ai.djl.pytorch.num_threads", "1"));
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  private static ZooSettings seeded(long seed) {
    ZooSettings t = ZooSettings.tiny();
    return new ZooSettings(
        seed,
        t.hiddenSize(),
        t.intermediateSize(),
        t.layers(),
        t.heads(),
        t.kvHeads(),
        t.baseSteps(),
        t.expertSteps(),
        t.batchSize(),
        t.baseLearningRate(),
        t.expertLearningRate(),
        t.trainRows(),
        t.devRows(),
        t.testRows());
  }

  @Test
  void dataIsDeterministicFromTheSeed() {
    TrainedZoo.Data a = TrainedZoo.generate(seeded(3));
    TrainedZoo.Data b = TrainedZoo.generate(seeded(3));
    TrainedZoo.Data c = TrainedZoo.generate(seeded(4));
    assertEquals(a.train(), b.train());
    assertEquals(a.dev().toString(), b.dev().toString());
    assertEquals(a.test().toString(), b.test().toString());
    assertEquals(a.language().lexicon(), b.language().lexicon());
    assertNotEquals(a.train(), c.train());
    assertNotEquals(a.language().lexicon(), c.language().lexicon());
  }

  @Test
  void trainingIsDeterministicFromTheSeed() throws Exception {
    PrintStream quiet = new PrintStream(java.io.OutputStream.nullOutputStream());
    TrainedZoo.Zoo a = TrainedZoo.create(tmp.resolve("a"), seeded(3), quiet);
    TrainedZoo.Zoo b = TrainedZoo.create(tmp.resolve("b"), seeded(3), quiet);
    TrainedZoo.Zoo c = TrainedZoo.create(tmp.resolve("c"), seeded(4), quiet);
    List<Path> models = new java.util.ArrayList<>(List.of(a.base()));
    models.addAll(a.experts());
    for (Path model : models) {
      Path other = b.dir().resolve(a.dir().relativize(model));
      assertArrayEquals(
          Files.readAllBytes(model.resolve("model.safetensors")),
          Files.readAllBytes(other.resolve("model.safetensors")),
          model.toString());
    }
    assertFalse(
        java.util.Arrays.equals(
            Files.readAllBytes(a.base().resolve("model.safetensors")),
            Files.readAllBytes(c.base().resolve("model.safetensors"))));
  }

  @Test
  void splitsAreDisjointAndTheTargetIsNeverTrainedOn() {
    TrainedZoo.Data d = TrainedZoo.generate(ZooSettings.tiny());
    for (String task : TrainedZoo.TASKS) {
      Set<String> dev = TrainedZoo.keys(d.dev().get(task));
      Set<String> test = TrainedZoo.keys(d.test().get(task));
      assertEquals(ZooSettings.tiny().devRows(), dev.size(), task);
      assertEquals(ZooSettings.tiny().testRows(), test.size(), task);
      assertTrue(disjoint(dev, test), task);
    }
    // held-out texts never appear in any training corpus (compared on the texts and prompts)
    Set<String> trained = new HashSet<>();
    d.train().values().forEach(trained::addAll);
    for (String task : TrainedZoo.TASKS) {
      for (List<ObjectNode> rows : List.of(d.dev().get(task), d.test().get(task))) {
        for (ObjectNode r : rows) {
          String text = r.has("text") ? r.get("text").asText() : null;
          String prompt = r.has("prompt") ? r.get("prompt").asText() : null;
          String context = r.has("context") ? r.get("context").asText() : null;
          for (String t : trained) {
            assertFalse(text != null && t.equals(text), task + ": " + text);
            assertFalse(prompt != null && t.startsWith(prompt), task + ": " + prompt);
            assertFalse(context != null && t.startsWith(context), task + ": " + context);
          }
        }
      }
    }
    // the target's problems are the math problems' kind, in the second language
    Map<String, String> lexicon = d.language().lexicon();
    String target = d.dev().get("target").get(0).get("prompt").asText();
    assertTrue(target.endsWith(lexicon.get("answer")), target);
    for (String word : target.split(" ")) {
      assertFalse(lexicon.containsKey(word), "base-language word " + word + " in " + target);
    }
  }

  @Test
  void theSecondLanguageHasItsOwnContentWordsAndTheBaseWordOrder() {
    SyntheticLanguage l = SyntheticLanguage.create(Corpus.words(), 5);
    Map<String, String> w = l.lexicon();
    assertEquals(
        w.get("tom")
            + " "
            + w.get("has")
            + " 5 "
            + w.get("apples")
            + " . how many "
            + w.get("apples")
            + " does "
            + w.get("tom")
            + " "
            + w.get("have")
            + " ? "
            + w.get("answer")
            + " 5",
        l.translate("tom has 5 apples . how many apples does tom have ? answer 5"));
    // every content word has its own made-up word; function words are shared, not translated
    assertEquals(
        Corpus.words().size() - SyntheticLanguage.SHARED.size(), new HashSet<>(w.values()).size());
    assertTrue(Corpus.words().containsAll(SyntheticLanguage.SHARED));
    for (String op : List.of("gives", "away", "gets", "more", "together")) {
      assertTrue(w.containsKey(op), op);
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> l.translate("tom eats 5 apples ."));
    assertTrue(e.getMessage().contains("eats"), e.getMessage());
  }

  @Test
  void theBaseSeesAlignedTextButNoSecondLanguageMath() {
    TrainedZoo.Data d = TrainedZoo.generate(ZooSettings.tiny());
    List<String> parallel = d.train().get("parallel");
    assertEquals(ZooSettings.tiny().trainRows() / 2, parallel.size());
    String story = d.train().get("stories").get(0);
    assertEquals(story + " " + d.language().translate(story), parallel.get(0));
    // the operation words of the target never occur in second-language training text
    Map<String, String> w = d.language().lexicon();
    for (String corpus : List.of("parallel", "language")) {
      for (String t : d.train().get(corpus)) {
        assertFalse(t.contains(" " + w.get("together") + " "), corpus + ": " + t);
      }
    }
  }

  @Test
  void problemsAnswerTheirArithmetic() {
    SplittableRandom r = new SplittableRandom(1);
    int subtractions = 0;
    for (int i = 0; i < 400; i++) {
      Corpus.Problem p = Corpus.problem(r);
      String[] w = p.prompt().split(" ");
      int a = Integer.parseInt(w[2]);
      boolean minus = p.prompt().contains("gives away");
      int b = Integer.parseInt(w[minus ? 8 : 7]);
      subtractions += minus ? 1 : 0;
      assertEquals(minus ? a - b : a + b, p.answer(), p.text());
      assertTrue(p.answer() >= 0 && p.answer() <= Corpus.MAX_NUMBER, p.text());
    }
    assertTrue(subtractions > 150 && subtractions < 250, "subtractions " + subtractions);
  }

  @Test
  void buildsATinyZooWhoseTokenizerAndModelsTheRuntimeReads() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    Path dir = tmp.resolve("zoo");
    TrainedZoo.Zoo zoo = TrainedZoo.openOrCreate(dir, ZooSettings.tiny(), out);
    String progress = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(progress.contains("100%"), progress);
    assertTrue(progress.contains("matches"), progress);
    JsonNode about = JSON.readTree(dir.resolve("zoo.json").toFile());
    for (String model : List.of("base", "math", "language", "recipes", "matches")) {
      JsonNode t = about.get("training").get(model);
      assertTrue(t.get("final_loss").asDouble() > 0, model);
    }
    // the base learns on its mix even in a few steps
    JsonNode base = about.get("training").get("base");
    assertTrue(
        base.get("final_loss").asDouble() < base.get("first_loss").asDouble(), base.toString());

    Configuration conf = new Configuration();
    HfModelFolder folder = HfModelFolder.open(zoo.base().toUri().toString(), conf);
    LlamaConfig config = ModelWeights.config(folder);
    TrainedZoo.Data data = TrainedZoo.generate(ZooSettings.tiny());
    assertEquals(data.vocabulary().size(), config.vocabSize());
    try (TextTokenizer tok =
        TextTokenizer.load(new org.apache.hadoop.fs.Path(zoo.base().toUri()), conf, config)) {
      String text = data.train().get("language").get(0);
      long[] ours = data.vocabulary().encode(text);
      assertArrayEquals(
          ours, concat(tok.prefix(), tok.encode(text), new long[] {tok.eosTokenId()}));
      assertEquals(text, tok.decode(tok.encode(text)));
    }
    for (Path expert : zoo.experts()) {
      assertTrue(Files.exists(expert.resolve("model.safetensors")), expert.toString());
      assertTrue(Files.exists(expert.resolve("tokenizer.json")), expert.toString());
    }
    // a complete zoo is opened, not rebuilt
    long modified = Files.getLastModifiedTime(zoo.base().resolve("model.safetensors")).toMillis();
    bytes.reset();
    TrainedZoo.openOrCreate(dir, ZooSettings.tiny(), out);
    assertEquals("", bytes.toString(StandardCharsets.UTF_8));
    assertEquals(
        modified, Files.getLastModifiedTime(zoo.base().resolve("model.safetensors")).toMillis());
    // a zoo of an earlier design is not taken for built (it is rebuilt)
    assertTrue(TrainedZoo.isBuilt(dir));
    ObjectNode older = (ObjectNode) about;
    older.put("design", TrainedZoo.DESIGN - 1);
    Files.writeString(dir.resolve("zoo.json"), older.toString());
    assertFalse(TrainedZoo.isBuilt(dir));
    older.remove("design");
    Files.writeString(dir.resolve("zoo.json"), older.toString());
    assertFalse(TrainedZoo.isBuilt(dir));
  }

  private static long[] concat(long[]... parts) {
    int n = 0;
    for (long[] p : parts) {
      n += p.length;
    }
    long[] out = new long[n];
    int i = 0;
    for (long[] p : parts) {
      System.arraycopy(p, 0, out, i, p.length);
      i += p.length;
    }
    return out;
  }

  private static boolean disjoint(Set<String> a, Set<String> b) {
    Set<String> c = new HashSet<>(a);
    c.retainAll(b);
    return c.isEmpty();
  }
}
