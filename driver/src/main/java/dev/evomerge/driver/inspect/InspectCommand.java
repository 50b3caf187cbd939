package dev.evomerge.driver.inspect;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.evomerge.worker.io.CheckpointException;
import dev.evomerge.worker.io.HfModelFolder;
import dev.evomerge.worker.io.ModelCompatibility;
import dev.evomerge.worker.io.ModelSummary;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * {@code evomerge inspect <model folder or URI>... [--json] [--conf key=value ...]}: tensors,
 * dtypes, shapes, bytes and the architecture summary of each model, reading only {@code
 * config.json}, the index and the shard headers; with several models, also whether they can be
 * merged.
 */
public final class InspectCommand {
  static final String USAGE =
      """
      usage: evomerge inspect <model folder or URI>... [--json] [--conf key=value ...]

      Shows each model's tensors (dtype, shape, bytes, shard) and architecture (layers, hidden
      size, heads, KV heads, vocab, tied embeddings), reading only config.json, the index and
      the safetensors headers. Works on local paths, file:, s3a: and hdfs: URIs; storage
      settings (e.g. fs.s3a.endpoint, fs.s3a.path.style.access) can be given with --conf.
      With more than one model, also checks that they can be merged tensor by tensor.
        --json   one JSON document on stdout
      Exit status: 0 fine, 1 unreadable or incompatible models, 2 usage error.""";

  private static final ObjectMapper JSON = new ObjectMapper();

  private InspectCommand() {}

  public static int run(String[] args, PrintStream out, PrintStream err) {
    boolean json = false;
    List<String> models = new ArrayList<>();
    Configuration conf = new Configuration();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--help", "-h" -> {
          out.println(USAGE);
          return 0;
        }
        case "--json" -> json = true;
        case "--conf" -> {
          if (i + 1 >= args.length || !args[i + 1].contains("=")) {
            return usage(err, "--conf needs key=value");
          }
          String kv = args[++i];
          conf.set(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        default -> {
          if (a.startsWith("--")) {
            return usage(err, "unknown option " + a);
          }
          models.add(a);
        }
      }
    }
    if (models.isEmpty()) {
      return usage(err, "no model given");
    }
    List<HfModelFolder> folders = new ArrayList<>();
    List<ModelSummary> summaries = new ArrayList<>();
    try {
      for (String m : models) {
        HfModelFolder f = HfModelFolder.open(m, conf);
        folders.add(f);
        summaries.add(ModelSummary.of(f));
      }
    } catch (CheckpointException e) {
      err.println("evomerge inspect: " + e.getMessage());
      return 1;
    }
    String incompatible = null;
    try {
      ModelCompatibility.check(folders);
    } catch (CheckpointException e) {
      incompatible = e.getMessage();
    }
    if (json) {
      ObjectNode root = JSON.createObjectNode();
      ArrayNode arr = root.putArray("models");
      summaries.forEach(s -> arr.add(s.toJson()));
      if (folders.size() > 1) {
        root.put("compatible", incompatible == null);
        if (incompatible != null) {
          root.put("incompatibility", incompatible);
        }
      }
      out.println(root.toPrettyString());
    } else {
      summaries.forEach(s -> out.print(s.toText()));
      if (folders.size() > 1 && incompatible == null) {
        out.println("The " + folders.size() + " models can be merged tensor by tensor.");
      }
    }
    if (incompatible != null) {
      err.println("evomerge inspect: " + incompatible);
      return 1;
    }
    return 0;
  }

  private static int usage(PrintStream err, String problem) {
    err.println("evomerge inspect: " + problem);
    err.println(USAGE);
    return 2;
  }
}
