package dev.evomerge.worker.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

class CandidateResultTest {
  @Test
  void shardsOnDifferentExecutorsKeepEachDeviceNoteWhole() {
    // the notes a GPU task writes when the engine has no CUDA, from two executors
    String a = TaskDevice.cpuFallbackNote("executor 2: ", "0");
    String b = TaskDevice.cpuFallbackNote("executor 0: ", "0");
    CandidateResult merged =
        CandidateResult.ok(Map.of(), Map.of(), 1, a, 8)
            .plus(CandidateResult.ok(Map.of(), Map.of(), 2, b, 16))
            .plus(CandidateResult.ok(Map.of(), Map.of(), 3, a, 8));
    assertEquals(b + "; " + a, merged.devices());
    assertEquals("16; 8", merged.batchSizes());
    assertEquals(6, merged.nanos());
  }
}
