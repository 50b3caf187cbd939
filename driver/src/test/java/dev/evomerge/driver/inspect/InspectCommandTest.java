package dev.evomerge.driver.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.worker.io.DType;
import dev.evomerge.worker.io.FloatTensor;
import dev.evomerge.worker.io.HfModelWriter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {
  @TempDir java.nio.file.Path dir;

  private final ByteArrayOutputStream outBytes = new ByteArrayOutputStream();
  private final ByteArrayOutputStream errBytes = new ByteArrayOutputStream();

  private int run(String... args) {
    outBytes.reset();
    errBytes.reset();
    return InspectCommand.run(
        args,
        new PrintStream(outBytes, true, StandardCharsets.UTF_8),
        new PrintStream(errBytes, true, StandardCharsets.UTF_8));
  }

  private String out() {
    return outBytes.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return errBytes.toString(StandardCharsets.UTF_8);
  }

  private String model(String name, int layers, int vocab) {
    ObjectNode cfg = new ObjectMapper().createObjectNode();
    cfg.putArray("architectures").add("LlamaForCausalLM");
    cfg.put("model_type", "llama");
    cfg.put("num_hidden_layers", layers);
    cfg.put("hidden_size", 4);
    cfg.put("num_attention_heads", 2);
    cfg.put("num_key_value_heads", 1);
    cfg.put("vocab_size", vocab);
    cfg.put("tie_word_embeddings", true);
    Map<String, FloatTensor> t = new LinkedHashMap<>();
    t.put(
        "model.embed_tokens.weight", new FloatTensor(new long[] {vocab, 4}, new float[vocab * 4]));
    for (int i = 0; i < layers; i++) {
      t.put(
          "model.layers." + i + ".mlp.up_proj.weight",
          new FloatTensor(new long[] {8, 4}, new float[32]));
    }
    Path p = new Path(dir.resolve(name).toUri());
    HfModelWriter.write(p, new Configuration(), cfg, t, DType.BF16, List.of());
    return p.toString();
  }

  @Test
  void printsTensorsAndArchitectureAsText() {
    String m = model("a", 2, 10);
    assertEquals(0, run(m));
    assertTrue(
        out()
            .contains(
                "LlamaForCausalLM (llama): 2 layers, hidden 4, 2 heads, 1 KV heads, vocab 10, embeddings tied"),
        out());
    assertTrue(
        out().contains("model.layers.1.mlp.up_proj.weight") && out().contains("BF16"), out());
    assertTrue(out().contains("[8, 4]") && out().contains("64 B"), out());
  }

  @Test
  void printsJsonAndChecksCompatibilityOfSeveralModels() throws Exception {
    String a = model("a", 2, 10);
    String b = model("b", 2, 10);
    assertEquals(0, run(a, b, "--json"));
    JsonNode root = new ObjectMapper().readTree(out());
    assertEquals(2, root.get("models").size());
    assertTrue(root.get("compatible").asBoolean());
    JsonNode arch = root.get("models").get(0).get("architecture");
    assertEquals(2, arch.get("layers").asInt());
    assertEquals(10, arch.get("vocab_size").asInt());
    assertEquals(1, arch.get("kv_heads").asInt());
    assertEquals(3, root.get("models").get(0).get("tensors").size());

    String c = model("c", 2, 12);
    assertEquals(1, run(a, c));
    assertTrue(
        err().contains("vocab size 10 vs 12") && err().contains(a) && err().contains(c), err());
  }

  @Test
  void usageAndUnreadableModels() {
    assertEquals(0, run("--help"));
    assertTrue(out().contains("usage: evomerge inspect"));
    assertEquals(2, run());
    assertEquals(2, run("--bogus", "x"));
    assertEquals(1, run(dir.resolve("missing").toString()));
    assertTrue(err().contains("does not exist"), err());
  }
}
