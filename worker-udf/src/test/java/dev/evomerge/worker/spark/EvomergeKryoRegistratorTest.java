package dev.evomerge.worker.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.evomerge.worker.eval.CandidateResult;
import dev.evomerge.worker.eval.CandidateSpec;
import dev.evomerge.worker.eval.EvalSpec;
import dev.evomerge.worker.eval.TaskRow;
import dev.evomerge.worker.score.ExampleResult;
import dev.evomerge.worker.score.ExampleScores;
import dev.evomerge.worker.score.TaskExample;
import dev.evomerge.worker.score.TaskPartial;
import dev.evomerge.worker.score.TaskResult;
import dev.evomerge.worker.score.TaskSpec;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag$;

class EvomergeKryoRegistratorTest {
  private static final SerializerInstance KRYO =
      new KryoSerializer(
              new SparkConf()
                  .set("spark.kryo.registrationRequired", "true")
                  .set("spark.kryo.registrator", EvomergeKryoRegistrator.class.getName()))
          .newInstance();

  @SuppressWarnings("unchecked")
  private static <T> T roundTrip(T value) {
    ByteBuffer bytes = KRYO.serialize(value, ClassTag$.MODULE$.AnyRef());
    return (T) KRYO.deserialize(bytes, ClassTag$.MODULE$.AnyRef());
  }

  @Test
  void recordsSurviveKryoWithRegistrationRequired() {
    EvalSpec spec =
        new EvalSpec(
                List.of("file:/a", "s3a://b/c"),
                "file:/base",
                List.of("file:/a#1", "s3a://b/c#2", "file:/base#3"),
                "file:/a/tokenizer.json",
                "dare_ties",
                List.of("weight", "density"),
                Map.<String, Object>of("normalize", false, "lambda", 1.5),
                42L,
                List.of(
                    dev.evomerge.worker.score.TaskSpec.of(
                        "dev",
                        "s3a://b/dev.jsonl",
                        dev.evomerge.worker.score.TaskKind.LOGLIK,
                        1.0)),
                128,
                8,
                Map.of(
                    "fs.s3a.endpoint", "http://127.0.0.1:9000", "fs.s3a.path.style.access", "true"))
            .toBuilder().recordExamples(true).build();
    assertEquals(spec, roundTrip(spec));
    EvalSpec layered =
        spec.toBuilder()
            .layout(new dev.evomerge.worker.eval.GeneLayout(2, List.of("mlp"), true, 4))
            .build();
    assertEquals(layered, roundTrip(layered));
    TaskRow row = new TaskRow("dev", dev.evomerge.worker.score.TaskExample.text(3, "héllo"));
    assertEquals(row, roundTrip(row));
    CandidateResult failed = CandidateResult.failed("boom", 7, "cpu");
    assertEquals(failed, roundTrip(failed));
    CandidateSpec[] candidates = {
      new CandidateSpec(1, new double[] {0.2, 0.8}), new CandidateSpec(2, new double[] {1, 0})
    };
    assertArrayEquals(candidates, roundTrip(candidates));
  }

  @Test
  void taskRecordsSurviveKryo() {
    TaskSpec spec =
        TaskSpec.fromMap(
            Map.of(
                "name",
                "c",
                "kind",
                "classify",
                "verbalizers",
                Map.of("x", " a", "y", " b"),
                "stop",
                List.of("\n")),
            "t");
    assertEquals(spec, roundTrip(spec));
    TaskExample row = TaskExample.choice(4, "ctx", List.of("a", "b", "c"), 2);
    assertEquals(row, roundTrip(row));
    TaskResult result =
        new TaskResult(
            new TaskPartial("c", 2, 0, 0, 1, 0, new long[] {1, 0, 1, 0}, 5),
            List.of(
                new ExampleResult("c", 0, -0.5, true, "x", 0, false, 0, 0),
                new ExampleResult("c", 1, -2, false, "x", 0, false, 0, 1)));
    assertEquals(result, roundTrip(result));
  }

  @Test
  void perRowResultsTravelWithTheCandidateInAFewBytesPerRow() {
    int n = 1000;
    java.util.List<ExampleResult> rows = new java.util.ArrayList<>();
    java.util.SplittableRandom random = new java.util.SplittableRandom(3);
    for (int i = 0; i < n; i++) {
      rows.add(
          new ExampleResult(
              "dev",
              2L * i,
              -random.nextDouble(40),
              true,
              "",
              1 + random.nextInt(200),
              false,
              -1,
              -1));
    }
    ExampleScores scores = ExampleScores.of("dev", rows);
    CandidateResult result =
        CandidateResult.ok(
            Map.of("dev", new TaskPartial("dev", n, -1234.5, 9999, 0, 0, new long[0], 3)),
            Map.of("dev", scores),
            42,
            "cpu",
            16);
    CandidateResult back = roundTrip(result);
    assertEquals(result, back);
    assertArrayEquals(scores.score(), back.exampleScores().get("dev").score());
    int bytes = KRYO.serialize(result, ClassTag$.MODULE$.AnyRef()).remaining();
    // per row: index, score and tokens (8 bytes each), two flags, two ints: 34 bytes, no texts
    assertTrue(bytes < 36 * n, "1000 rows took " + bytes + " bytes");
  }

  @Test
  void broadcastOfCandidatesIsSmall() {
    // coefficients, never weights: a generation of 64 candidates over 8 sources stays tiny
    CandidateSpec[] candidates = new CandidateSpec[64];
    for (int i = 0; i < candidates.length; i++) {
      candidates[i] = new CandidateSpec(i, new double[8]);
    }
    int bytes = KRYO.serialize(candidates, ClassTag$.MODULE$.AnyRef()).remaining();
    assertTrue(bytes < 8 * 1024, "broadcast of 64 candidates took " + bytes + " bytes");
  }

  record Unregistered(int x) {}

  @Test
  void unregisteredClassesFailLoudly() {
    Exception e = assertThrows(Exception.class, () -> roundTrip(new Unregistered(1)));
    assertTrue(String.valueOf(e.getMessage()).contains("not registered"), e.getMessage());
  }
}
