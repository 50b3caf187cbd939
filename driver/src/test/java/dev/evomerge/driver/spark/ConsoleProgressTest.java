package dev.evomerge.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ConsoleProgressTest {
  @Test
  void barIsFilledInProportionToTheTasksDone() {
    // 5 of 8 tasks fill 6.25 of 10 cells: 6
    assertEquals(
        "generation 3/6 [######    ] 5/8 tasks",
        ConsoleProgress.render("generation 3/6", 5, 8, 10));
    assertEquals(
        "generation 1/2 [          ] 0/8 tasks",
        ConsoleProgress.render("generation 1/2", 0, 8, 10));
    assertEquals(
        "generation 2/2 [##########] 8/8 tasks",
        ConsoleProgress.render("generation 2/2", 8, 8, 10));
    // 1 of 3 is a third of 20 cells, rounded down
    assertEquals("x [######              ] 1/3 tasks", ConsoleProgress.render("x", 1, 3, 20));
    // a re-run task never overfills the bar; no tasks at all draws an empty bar
    assertEquals("x [####] 5/4 tasks", ConsoleProgress.render("x", 5, 4, 4));
    assertEquals("x [    ] 0/0 tasks", ConsoleProgress.render("x", 0, 0, 4));
  }

  @Test
  void labelIsTheGenerationOfTheJobDescription() {
    assertEquals(
        "generation 7/30",
        ConsoleProgress.label(
            "evomerge generation 7/30 · 24 candidates × 8 dev shards · best 0.612"));
    assertEquals("held-out evaluation", ConsoleProgress.label("held-out evaluation · 5 merges"));
    assertEquals("bench generation 2", ConsoleProgress.label("bench generation 2"));
    assertEquals("evaluation", ConsoleProgress.label(null));
  }

  @Test
  void finishingWithNothingDrawnPrintsNothing() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ConsoleProgress progress =
        new ConsoleProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), "group");
    progress.finish();
    assertEquals("", bytes.toString(StandardCharsets.UTF_8));
  }
}
