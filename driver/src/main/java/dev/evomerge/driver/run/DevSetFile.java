package dev.evomerge.driver.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.evomerge.worker.score.DevExample;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/** A JSON-lines dev set read on the driver: for checks before any cluster work, and for tests. */
public final class DevSetFile {
  private static final ObjectMapper JSON = new ObjectMapper();

  private DevSetFile() {}

  /**
   * Reads rows, checking each has a string {@code field}.
   *
   * @param limit rows to read at most (checks read a few, tests read all)
   */
  public static List<DevExample> read(String uri, String field, Configuration conf, int limit) {
    Path path = new Path(uri);
    List<DevExample> rows = new ArrayList<>();
    try {
      if (!path.getFileSystem(conf).exists(path)) {
        throw new RunError(String.format("Dev set %s does not exist", uri));
      }
      try (BufferedReader in =
          new BufferedReader(
              new InputStreamReader(path.getFileSystem(conf).open(path), StandardCharsets.UTF_8))) {
        String line;
        int lineNo = 0;
        while ((line = in.readLine()) != null && rows.size() < limit) {
          lineNo++;
          if (line.isBlank()) {
            continue;
          }
          JsonNode node;
          try {
            node = JSON.readTree(line);
          } catch (IOException e) {
            throw new RunError(String.format("Dev set %s line %d is not valid JSON", uri, lineNo));
          }
          JsonNode text = node == null ? null : node.get(field);
          if (text == null || !text.isTextual()) {
            throw new RunError(
                String.format(
                    "Dev set %s line %d has no string field '%s' (evomerge.eval.text-field)",
                    uri, lineNo, field));
          }
          rows.add(new DevExample(rows.size(), text.asText()));
        }
      }
    } catch (IOException e) {
      throw new RunError(String.format("Cannot read dev set %s", uri), e);
    }
    if (rows.isEmpty()) {
      throw new RunError(String.format("Dev set %s has no rows", uri));
    }
    return rows;
  }
}
