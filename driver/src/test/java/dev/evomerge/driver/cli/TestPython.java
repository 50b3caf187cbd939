package dev.evomerge.driver.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The Python the deploy and notebook tests run: Debian's {@code /usr/bin/python3} (a {@code
 * python3} on PATH may be another installation without Debian's packages), with pandas, matplotlib
 * and nbclient for the notebooks. A missing one fails the test with the command that installs it;
 * the tests never skip (in CI, {@code .ci/run} installs them).
 */
final class TestPython {
  static final String APT =
      "apt-get update && apt-get install -y python3-pandas python3-matplotlib python3-nbconvert"
          + " python3-nbclient python3-ipykernel";

  private TestPython() {}

  /** The interpreter; with {@code notebooks}, one that imports the notebook packages. */
  static String interpreter(boolean notebooks) throws Exception {
    String python = "/usr/bin/python3";
    if (!Files.isExecutable(Path.of(python))) {
      fail("No " + python + (isCi() ? " in CI" : "") + "; install Debian's Python: " + APT);
    }
    if (notebooks) {
      Process p =
          new ProcessBuilder(
                  python, "-c", "import pandas, matplotlib, nbclient, nbformat, ipykernel")
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (p.waitFor() != 0) {
        fail(
            "The notebook tests need pandas, matplotlib, nbclient and ipykernel for "
                + python
                + (isCi() ? " (CI=true: .ci/run should have installed them)" : "")
                + "; install them with: "
                + APT
                + "\n"
                + out.strip());
      }
    }
    return python;
  }

  static boolean isCi() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }
}
