package dev.evomerge.worker.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hand-built folders: sharded layouts, hostile indexes, pickles. */
class HfModelFolderTest {
  @TempDir java.nio.file.Path dir;

  private final Configuration conf = new Configuration();

  private java.nio.file.Path shardedFolder(String indexWeightMap) throws Exception {
    java.nio.file.Path f = dir.resolve("m");
    Files.createDirectories(f);
    Files.writeString(f.resolve("config.json"), "{\"num_hidden_layers\":1}");
    Files.write(
        f.resolve("model-00001-of-00002.safetensors"),
        new RawSafetensors().addF32("a", new long[] {2}, 1, 2).bytes());
    Files.write(
        f.resolve("model-00002-of-00002.safetensors"),
        new RawSafetensors().addF32("b", new long[] {1}, 3).addF32("c", new long[] {1}, 4).bytes());
    Files.writeString(
        f.resolve(HfModelFolder.INDEX),
        "{\"metadata\":{\"total_size\":16},\"weight_map\":" + indexWeightMap + "}");
    return f;
  }

  private static final String GOOD_MAP =
      "{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\","
          + "\"c\":\"model-00002-of-00002.safetensors\"}";

  private String refused(java.nio.file.Path folder) {
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> HfModelFolder.open(folder.toString(), conf));
    return e.getMessage();
  }

  @Test
  void readsAHandBuiltShardedFolderTensorByTensor() throws Exception {
    java.nio.file.Path f = shardedFolder(GOOD_MAP);
    HfModelFolder m = HfModelFolder.open(f.toString(), conf);
    assertEquals(List.of("a", "b", "c"), List.copyOf(m.tensors().keySet()));
    assertEquals(4f, m.readFloat("c").data()[0]);
    assertEquals(2f, m.readFloat("a").data()[1]);
    assertEquals(16, m.tensorBytes());
    String before = m.versionKey();
    Files.write(
        f.resolve("model-00001-of-00002.safetensors"),
        new RawSafetensors().addF32("a", new long[] {3}, 1, 2, 3).bytes());
    assertNotEquals(before, HfModelFolder.open(f.toString(), conf).versionKey());
  }

  @Test
  void refusesShardNamesEscapingTheFolder() throws Exception {
    for (String bad :
        List.of(
            "../model-00001-of-00002.safetensors",
            "/etc/passwd.safetensors",
            "s3a://bucket/x.safetensors",
            "sub/x.safetensors",
            "..",
            "..\\\\x.safetensors",
            "")) {
      java.nio.file.Path f =
          shardedFolder("{\"a\":\"" + bad + "\",\"b\":\"model-00002-of-00002.safetensors\"}");
      String m = refused(f);
      assertTrue(m.contains("not a plain file name") && m.contains("tensor a"), bad + ": " + m);
    }
  }

  @Test
  void refusesMissingShardAndMismatchedIndex() throws Exception {
    java.nio.file.Path f = shardedFolder(GOOD_MAP);
    Files.delete(f.resolve("model-00002-of-00002.safetensors"));
    String m = refused(f);
    assertTrue(m.contains("model-00002-of-00002.safetensors") && m.contains("missing"), m);

    f =
        shardedFolder(
            "{\"a\":\"model-00001-of-00002.safetensors\",\"b\":\"model-00002-of-00002.safetensors\"}");
    m = refused(f);
    assertTrue(m.contains("Tensor c") && m.contains("not mapped"), m);

    f = shardedFolder(GOOD_MAP.replace("\"c\":\"model-00002", "\"z\":\"model-00002"));
    m = refused(f);
    assertTrue(m.contains("Tensor z") || m.contains("Tensor c"), m);

    f = shardedFolder("[1]");
    assertTrue(refused(f).contains("weight_map"));
    Files.writeString(f.resolve(HfModelFolder.INDEX), "{\"weight_map\":");
    assertTrue(refused(f).contains("Malformed JSON"));
  }

  @Test
  void refusesPickleCheckpointsSayingWhyAndHowToConvert() throws Exception {
    java.nio.file.Path f = dir.resolve("pickle");
    Files.createDirectories(f);
    Files.writeString(f.resolve("config.json"), "{}");
    Files.write(f.resolve("pytorch_model.bin"), new byte[] {(byte) 0x80, 2});
    String m = refused(f);
    assertTrue(
        m.contains("pytorch_model.bin")
            && m.contains("arbitrary code")
            && m.contains("safe_serialization"),
        m);
    java.nio.file.Path pt = dir.resolve("model.pt");
    Files.write(pt, new byte[] {1});
    assertTrue(refused(pt).contains("pickle"));
    java.nio.file.Path idx = shardedFolder("{\"a\":\"pytorch_model-00001-of-00002.bin\"}");
    assertTrue(refused(idx).contains("arbitrary code"));
  }

  @Test
  void refusesFolderWithoutWeightsOrConfig() throws Exception {
    java.nio.file.Path f = dir.resolve("empty");
    Files.createDirectories(f);
    assertTrue(refused(f).contains("neither"));
    Files.write(
        f.resolve("model.safetensors"),
        new RawSafetensors().addF32("a", new long[] {1}, 1).bytes());
    assertTrue(refused(f).contains("config.json"));
    assertTrue(refused(dir.resolve("nope")).contains("does not exist"));
  }

  @Test
  void opensTheSkeletonsSingleFileLayout() throws Exception {
    java.nio.file.Path f = dir.resolve("single");
    Files.createDirectories(f);
    Files.writeString(f.resolve("config.json"), "{}");
    Files.write(
        f.resolve("model.safetensors"),
        new RawSafetensors().addF32("a", new long[] {1}, 5).bytes());
    Files.write(f.resolve("pytorch_model.bin"), new byte[] {1}); // ignored next to safetensors
    HfModelFolder m = HfModelFolder.open(new Path(f.toUri()).toString(), conf);
    assertEquals(5f, m.readAllFloat().get("a").data()[0]);
  }
}
