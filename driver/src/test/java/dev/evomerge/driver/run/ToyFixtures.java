package dev.evomerge.driver.run;

import dev.evomerge.driver.toy.ToyZoo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FileUtil;

/** One small toy zoo per test JVM (writing it costs a couple of seconds). */
public final class ToyFixtures {
  public static final double[] TARGET_MIX = {0.6, 0.3, 0.1};
  private static ToyZoo.Zoo zoo;

  private ToyFixtures() {}

  public static synchronized ToyZoo.Zoo zoo() {
    if (zoo == null) {
      try {
        Path dir = Files.createTempDirectory("evomerge-test-zoo");
        zoo = ToyZoo.create(dir, 11, TARGET_MIX, 24, 32);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return zoo;
  }

  /** Copies a local file or folder to {@code uri}, on the Hadoop filesystem it names. */
  public static void copyTo(Path local, String uri, Configuration conf) throws IOException {
    org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(uri);
    FileUtil.copy(
        FileSystem.getLocal(new Configuration()),
        new org.apache.hadoop.fs.Path(local.toUri()),
        target.getFileSystem(conf),
        target,
        false,
        conf);
  }

  /**
   * The toy zoo's sources and dev set copied under {@code root} (a URI on any Hadoop filesystem),
   * as the config lines that name them.
   */
  public static String zooUnder(String root, Configuration conf) throws IOException {
    StringBuilder sources = new StringBuilder();
    for (Path source : zoo().sources()) {
      String uri = root + "/" + source.getFileName();
      copyTo(source, uri, conf);
      sources.append(sources.length() == 0 ? "" : ", ").append('"').append(uri).append('"');
    }
    String dev = root + "/dev.jsonl";
    copyTo(zoo().devSet(), dev, conf);
    return "evomerge.models.sources = [" + sources + "]\nevomerge.eval.dev-set = \"" + dev + "\"\n";
  }

  /**
   * Copies of the toy zoo's sources in {@code dir}: statistics are written into each source's
   * folder, and the zoo is shared by the test JVM's other tests.
   */
  public static String copiedSources(Path dir) throws Exception {
    StringBuilder out = new StringBuilder("[");
    for (Path source : ToyFixtures.zoo().sources()) {
      Path copy = dir.resolve(source.getFileName());
      Files.createDirectories(copy);
      try (java.util.stream.Stream<Path> files = Files.list(source)) {
        for (Path f : files.filter(Files::isRegularFile).toList()) {
          Files.copy(f, copy.resolve(f.getFileName()));
        }
      }
      out.append(out.length() == 1 ? "" : ", ").append('"').append(copy).append('"');
    }
    return out.append(']').toString();
  }

  /** HOCON that runs a short search on the zoo, writing under {@code outputRoot}. */
  public static String config(Path outputRoot) {
    ToyZoo.Zoo z = zoo();
    StringBuilder sources = new StringBuilder();
    for (Path p : z.sources()) {
      sources.append(sources.length() == 0 ? "" : ", ").append('"').append(p).append('"');
    }
    return String.format(
        """
        evomerge {
          run { name = "test", output-root = "%s", generations = 2, seed = 3, pointers = false }
          models.sources = [%s]
          search { strategy = "elitist-gaussian", options { populationSize = 4 } }
          eval { dev-set = "%s", shards = 2, max-length = 64, batch-size = 8 }
        }
        spark { master = "local[2]", ui.enabled = false }
        """,
        outputRoot, sources, z.devSet());
  }
}
