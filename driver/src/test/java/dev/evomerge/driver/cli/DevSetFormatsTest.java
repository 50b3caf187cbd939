package dev.evomerge.driver.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.driver.run.ToyFixtures;
import dev.evomerge.driver.spark.TestSpark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One dev set stored as JSON lines, Parquet and CSV scores the same; a missing column is named. */
class DevSetFormatsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static SparkSession spark;

  @TempDir Path tmp;

  @BeforeAll
  static void shareSession() {
    spark = TestSpark.session();
  }

  private static int devRows() throws Exception {
    return (int)
        Files.readAllLines(ToyFixtures.zoo().devSet()).stream().filter(l -> !l.isBlank()).count();
  }

  /** Rows {@code [from, to)} of the toy dev set's texts as a frame with one column. */
  private static Dataset<Row> devFrame(String column, int from, int to) throws Exception {
    List<Row> rows = new ArrayList<>();
    for (String line : Files.readAllLines(ToyFixtures.zoo().devSet())) {
      if (!line.isBlank()) {
        rows.add(RowFactory.create(JSON.readTree(line).get("text").asText()));
      }
    }
    StructType schema = new StructType().add(column, DataTypes.StringType);
    return spark.createDataFrame(rows.subList(from, Math.min(to, rows.size())), schema);
  }

  /**
   * The dev set as a folder of two part files (the first half, then the second), written by {@code
   * write} in {@code format}, as Spark writes a data set: the reader must keep their order.
   */
  private Path twoPartFolder(String name, Writer write) throws Exception {
    Path folder = Files.createDirectories(tmp.resolve(name));
    for (int part = 0; part < 2; part++) {
      Path one = tmp.resolve(name + "-part" + part);
      int half = devRows() / 2;
      write.write(devFrame("text", part * half, part == 0 ? half : Integer.MAX_VALUE), one);
      try (Stream<Path> files = Files.list(one)) {
        for (Path data :
            files.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
          Files.move(data, folder.resolve(String.format("part-%05d-%s", part, data.getFileName())));
        }
      }
    }
    return folder;
  }

  @FunctionalInterface
  interface Writer {
    void write(Dataset<Row> frame, Path out) throws Exception;
  }

  private List<String> historyOfRunOn(String devSet, String name) throws Exception {
    Path runs = tmp.resolve("runs-" + name);
    Path file = tmp.resolve(name + ".conf");
    Files.writeString(
        file, ToyFixtures.config(runs) + "\nevomerge.eval.dev-set = \"" + devSet + "\"\n");
    RunCommandTest.Outcome o = RunCommandTest.run(file.toFile(), List.of());
    assertEquals(0, o.code(), o.err());
    try (Stream<Path> dirs = Files.list(runs)) {
      Path dir = dirs.findFirst().orElseThrow();
      List<String> out = new ArrayList<>();
      for (String line : Files.readAllLines(dir.resolve("history.jsonl"))) {
        JsonNode h = JSON.readTree(line);
        out.add(h.get("genome") + " " + h.get("fitness") + " " + h.get("examples"));
      }
      return out;
    }
  }

  @Test
  void theSameDevSetAsJsonLinesParquetAndCsvGivesIdenticalFitness() throws Exception {
    Path parquet = twoPartFolder("dev.parquet", (df, out) -> df.write().parquet(out.toString()));
    Path csv =
        twoPartFolder(
            "dev.csv",
            (df, out) ->
                df.write()
                    .option("header", "true")
                    .option("ignoreLeadingWhiteSpace", "false")
                    .option("ignoreTrailingWhiteSpace", "false")
                    .csv(out.toString()));

    List<String> jsonl = historyOfRunOn(ToyFixtures.zoo().devSet().toString(), "jsonl");
    assertEquals(8, jsonl.size());
    assertTrue(jsonl.get(0).endsWith(" " + devRows()), "every dev row scored: " + jsonl.get(0));
    assertEquals(jsonl, historyOfRunOn(parquet.toString(), "parquet"));
    assertEquals(jsonl, historyOfRunOn(csv.toString(), "csv"));
  }

  @Test
  void aMissingColumnNamesTheFileTheColumnAndTheTaskBeforeAnyClusterWork() throws Exception {
    Path bad = tmp.resolve("bad.parquet");
    devFrame("body", 0, 8).write().parquet(bad.toString());
    Path runs = tmp.resolve("runs");
    Path file = tmp.resolve("bad.conf");
    Files.writeString(
        file,
        ToyFixtures.config(runs)
            + "\nevomerge.eval.dev-set = null\nevomerge.eval.tasks = [{name = qa, data = \""
            + bad
            + "\", kind = loglik}]\n");
    long jobsBefore = spark.sparkContext().statusTracker().getJobIdsForGroup(null).length;
    RunCommandTest.Outcome o = RunCommandTest.run(file.toFile(), List.of());
    assertEquals(2, o.code(), o.err());
    assertTrue(o.err().contains("Task qa (evomerge.eval.tasks[0])"), o.err());
    assertTrue(o.err().contains(bad.toString()), o.err());
    assertTrue(o.err().contains("no column text"), o.err());
    assertFalse(Files.exists(runs), "no run folder");
    assertEquals(
        jobsBefore,
        spark.sparkContext().statusTracker().getJobIdsForGroup(null).length,
        "no Spark job ran");

    // an explicit format that is not one evomerge reads is refused, naming the key
    Files.writeString(
        file,
        ToyFixtures.config(runs)
            + "\nevomerge.eval.dev-set = null\nevomerge.eval.tasks = [{name = qa, data = \""
            + bad
            + "\", kind = loglik, format = orc}]\n");
    o = RunCommandTest.run(file.toFile(), List.of());
    assertEquals(2, o.code(), o.err());
    assertTrue(o.err().contains("evomerge.eval.tasks[0].format"), o.err());
  }
}
