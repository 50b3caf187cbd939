package dev.evomerge.worker.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelCompatibilityTest {
  @TempDir java.nio.file.Path dir;

  private final Configuration conf = new Configuration();

  private HfModelFolder write(String name, ObjectNode cfg, Map<String, FloatTensor> t) {
    Path p = new Path(dir.resolve(name).toUri());
    HfModelWriter.write(p, conf, cfg, t, DType.F16, List.of());
    return HfModelFolder.open(p.toString(), conf);
  }

  @Test
  void acceptsSameShapesAndNamesTheTensorAndBothModelsWhenTheyDiffer() {
    HfModelFolder a =
        write("a", HfModelWriterTest.config(2, 8), HfModelWriterTest.toyTensors(2, 8, 1));
    HfModelFolder b =
        write("b", HfModelWriterTest.config(2, 8), HfModelWriterTest.toyTensors(2, 8, 2));
    ModelCompatibility.check(List.of(a, b));

    Map<String, FloatTensor> odd = HfModelWriterTest.toyTensors(2, 8, 3);
    odd.put("model.norm.weight", new FloatTensor(new long[] {9}, new float[9]));
    HfModelFolder c = write("c", HfModelWriterTest.config(2, 8), odd);
    String m =
        assertThrows(CheckpointException.class, () -> ModelCompatibility.check(List.of(a, b, c)))
            .getMessage();
    assertTrue(
        m.contains("model.norm.weight")
            && m.contains("[8] vs [9]")
            && m.contains(a.uri())
            && m.contains(c.uri()),
        m);

    Map<String, FloatTensor> extra = HfModelWriterTest.toyTensors(2, 8, 4);
    extra.put("model.extra", new FloatTensor(new long[] {1}, new float[1]));
    HfModelFolder d = write("d", HfModelWriterTest.config(2, 8), extra);
    m =
        assertThrows(CheckpointException.class, () -> ModelCompatibility.check(List.of(a, d)))
            .getMessage();
    assertTrue(m.contains("model.extra is missing from the first"), m);

    HfModelFolder e =
        write("e", HfModelWriterTest.config(3, 8), HfModelWriterTest.toyTensors(3, 8, 5));
    m =
        assertThrows(CheckpointException.class, () -> ModelCompatibility.check(List.of(a, e)))
            .getMessage();
    assertTrue(m.contains("layer count 2 vs 3"), m);
  }

  @Test
  void summaryReportsArchitectureBytesAndDtypes() {
    HfModelFolder a =
        write("a", HfModelWriterTest.config(2, 8), HfModelWriterTest.toyTensors(2, 8, 1));
    ModelSummary s = ModelSummary.of(a);
    assertEquals(2, s.architecture().layers());
    assertEquals(2, s.architecture().layersInTensors());
    assertEquals(8, s.architecture().hiddenSize());
    assertEquals(4, s.architecture().heads());
    assertEquals(2, s.architecture().kvHeads());
    assertEquals(32, s.architecture().vocabSize());
    long params = a.tensors().values().stream().mapToLong(TensorInfo::numel).sum();
    assertEquals(params, s.parameters());
    assertEquals(2 * params, s.tensorBytes());
    assertEquals(Map.of(DType.F16, 2 * params), s.dtypeBytes());
    assertTrue(s.toText().contains("vocab 32, embeddings untied"), s.toText());
    assertEquals(a.tensors().size(), s.toJson().get("tensors").size());
  }
}
