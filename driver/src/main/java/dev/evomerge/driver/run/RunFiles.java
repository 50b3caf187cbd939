package dev.evomerge.driver.run;

import dev.evomerge.worker.io.HfModelWriter;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;

/**
 * The files of one run folder on any Hadoop filesystem ({@code file:}, {@code hdfs:}, {@code
 * s3a:}), each replaced whole so that a reader never sees a partial file: on filesystems with
 * rename, written to a hidden sibling and renamed over the old one; on object stores, where an
 * object becomes visible only when its upload completes, written in place in one upload.
 */
public final class RunFiles {
  private final FileSystem fs;
  private final Configuration conf;
  private final Path dir;
  private final boolean rename;

  private RunFiles(FileSystem fs, Configuration conf, Path dir) {
    this.fs = fs;
    this.conf = conf;
    this.dir = dir;
    this.rename = HfModelWriter.hasAtomicRename(fs, conf);
  }

  /** The run folder at {@code uri} (a path or a URI), which need not exist yet. */
  public static RunFiles at(String uri, Configuration conf) {
    Path path = new Path(Preflight.toUri(uri));
    try {
      FileSystem fs = path.getFileSystem(conf);
      fs.setWriteChecksum(false); // no .crc side files from the local checksum filesystem
      return new RunFiles(fs, conf, fs.makeQualified(path));
    } catch (IOException e) {
      throw new RunError("Cannot open the filesystem of run folder " + uri + ": " + e, e);
    }
  }

  /** The folder, fully qualified ({@code file:/...}, {@code s3a://bucket/...}). */
  public Path dir() {
    return dir;
  }

  /** A file or folder of the run folder; {@code ""} is the folder itself. */
  public Path path(String relative) {
    return relative.isEmpty() ? dir : new Path(dir, relative);
  }

  /** Whether files are replaced by rename (false on object stores). */
  boolean renames() {
    return rename;
  }

  FileSystem fs() {
    return fs;
  }

  Configuration conf() {
    return conf;
  }

  /** The file's text, or empty when there is none. */
  public Optional<String> read(String relative) {
    try (InputStream in = fs.open(path(relative))) {
      return Optional.of(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (FileNotFoundException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + path(relative), e);
    }
  }

  public boolean exists(String relative) {
    try {
      return fs.exists(path(relative));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot check " + path(relative), e);
    }
  }

  /** Deletes a file or a folder and everything in it; nothing when it does not exist. */
  public void delete(String relative) {
    try {
      fs.delete(path(relative), true);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot delete " + path(relative), e);
    }
  }

  /**
   * Creates the file only if it does not exist yet (the claim on a new run folder).
   *
   * @return false when it exists
   */
  boolean createNew(String relative, String text) {
    try (OutputStream out = fs.create(path(relative), false)) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
      return true;
    } catch (FileAlreadyExistsException e) {
      return false;
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + path(relative), e);
    }
  }

  /** Replaces the file whole: readers see the old or the new text, never a part. */
  public void write(String relative, String text) {
    Path target = path(relative);
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    try {
      if (!rename) {
        // one upload: the object is visible only once it is complete
        try (OutputStream out = fs.create(target, true)) {
          out.write(bytes);
        }
        return;
      }
      Path tmp = new Path(target.getParent(), "." + target.getName() + "." + UUID.randomUUID());
      try (OutputStream out = fs.create(tmp, false)) {
        out.write(bytes);
      }
      try {
        replace(tmp, target);
      } catch (IOException | RuntimeException e) {
        fs.delete(tmp, false);
        throw e;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write " + target, e);
    }
  }

  /**
   * Renames {@code tmp} over {@code target}. The local filesystem's rename replaces atomically;
   * elsewhere (HDFS) the rename with {@code OVERWRITE} through {@link FileContext} does.
   */
  private void replace(Path tmp, Path target) throws IOException {
    if ("file".equals(fs.getScheme())) {
      if (!fs.rename(tmp, target)) {
        throw new IOException("rename of " + tmp + " to " + target + " failed");
      }
    } else {
      FileContext.getFileContext(fs.getUri(), conf).rename(tmp, target, Options.Rename.OVERWRITE);
    }
  }

  /** Creates the folder (and its parents); on object stores, a directory marker. */
  void mkdirs(String relative) {
    try {
      fs.mkdirs(path(relative));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create " + path(relative), e);
    }
  }

  @Override
  public String toString() {
    return dir.toString();
  }
}
