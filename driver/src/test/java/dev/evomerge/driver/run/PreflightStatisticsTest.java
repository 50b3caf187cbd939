package dev.evomerge.driver.run;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.evomerge.driver.config.ConfigLoader;
import dev.evomerge.driver.config.RunSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreflightStatisticsTest {
  @TempDir Path tmp;

  @Test
  void methodsThatNeedStatisticsAreRefusedBeforeTheSearch() throws Exception {
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, ToyFixtures.config(tmp.resolve("runs")));
    for (String method : List.of("fisher", "regmean")) {
      RunSettings settings =
          ConfigLoader.load(conf.toFile(), List.of("evomerge.merge.method=" + method));
      RunError e = assertThrows(RunError.class, () -> Preflight.check(settings));
      assertTrue(
          e.getMessage().contains("Merge method " + method + " needs per-model"), e.getMessage());
    }
  }
}
