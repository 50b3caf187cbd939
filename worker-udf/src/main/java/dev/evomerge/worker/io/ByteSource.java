package dev.evomerge.worker.io;

import com.google.common.base.Preconditions;
import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileRange;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.util.functional.FutureIO;

/**
 * Random access to the bytes of one file: memory-mapped when local, positioned or vectored reads
 * otherwise.
 */
abstract class ByteSource {
  /** Local files are mapped in windows of this size (a MappedByteBuffer is int-indexed). */
  static final long MAP_WINDOW = 1L << 30;

  /** Remote positioned reads go through a heap buffer of at most this size. */
  static final int REMOTE_CHUNK = 8 << 20;

  final Path path;
  final long length;

  ByteSource(Path path, long length) {
    this.path = path;
    this.length = length;
  }

  static ByteSource open(FileSystem fs, FileStatus status, Configuration conf) {
    if ("file".equals(fs.getScheme())) {
      return new Mapped(
          status.getPath(), status.getLen(), new File(fs.makeQualified(status.getPath()).toUri()));
    }
    return new Remote(status.getPath(), status.getLen(), fs, status);
  }

  /**
   * Fills {@code dst} from its position to its limit with the bytes at {@code position}; the read
   * stays within the length seen at open, so a truncated file fails instead of returning less.
   */
  final void read(long position, ByteBuffer dst) throws IOException {
    Preconditions.checkArgument(
        position >= 0 && position + dst.remaining() <= length,
        "Read of %s bytes at %s outside %s (%s bytes)",
        dst.remaining(),
        position,
        path,
        length);
    readChecked(position, dst);
  }

  abstract void readChecked(long position, ByteBuffer dst) throws IOException;

  /** Several reads of one file: a remote file is opened once for all of them. */
  interface Reader extends java.io.Closeable {
    void read(long position, ByteBuffer dst) throws IOException;
  }

  Reader reader() throws IOException {
    return new Reader() {
      @Override
      public void read(long position, ByteBuffer dst) throws IOException {
        ByteSource.this.read(position, dst);
      }

      @Override
      public void close() {}
    };
  }

  /** Receives the bytes of one range of a {@link #readRanges} call. */
  @FunctionalInterface
  interface RangeConsumer {
    void accept(FileRange range, ByteBuffer data) throws IOException;
  }

  /** The range that a failed {@link #readRanges} call was waiting for. */
  static final class RangeFailure extends IOException {
    private static final long serialVersionUID = 1L;
    final transient FileRange range;

    RangeFailure(FileRange range, IOException cause) {
      super(cause.getMessage(), cause);
      this.range = range;
    }
  }

  /** Whether several ranges are best fetched together with {@link #readRanges} (remote files). */
  boolean vectored() {
    return false;
  }

  /**
   * Reads {@code ranges} (sorted by offset, disjoint, within the file) and hands each one's bytes
   * to {@code consumer} in order; a failure is a {@link RangeFailure} naming the range. Here one
   * positioned read each; a remote file overrides this with one vectored read.
   */
  void readRanges(List<FileRange> ranges, RangeConsumer consumer) throws IOException {
    for (FileRange r : ranges) {
      ByteBuffer data = ByteBuffer.allocate(r.getLength());
      try {
        read(r.getOffset(), data);
      } catch (IOException e) {
        throw new RangeFailure(r, e);
      }
      consumer.accept(r, data.flip());
    }
  }

  /**
   * A read-only view of {@code len} bytes at {@code position} without copying, or {@code null} when
   * this source cannot give one (remote, or spanning two map windows).
   */
  ByteBuffer view(long position, int len) throws IOException {
    return null;
  }

  /**
   * Confirms that the bytes just read are still backed by the file. A mapped file that shrank makes
   * the JVM raise an asynchronous InternalError (possibly after the copy has "returned" zeros);
   * this check fails instead, and its system call also delivers that pending error inside the
   * caller's try block.
   */
  void verify() throws IOException {}

  /** Reads the whole range through a stream sequentially (for copying a file elsewhere). */
  abstract InputStream stream() throws IOException;

  /** A local file, mapped lazily window by window; the mapping outlives the channel. */
  static final class Mapped extends ByteSource {
    private final File file;
    private final MappedByteBuffer[] windows;

    Mapped(Path path, long length, File file) {
      super(path, length);
      this.file = file;
      this.windows = new MappedByteBuffer[(int) ((length + MAP_WINDOW - 1) / MAP_WINDOW)];
    }

    private synchronized MappedByteBuffer window(int i) throws IOException {
      if (windows[i] == null) {
        long start = i * MAP_WINDOW;
        long size = Math.min(MAP_WINDOW, length - start);
        try (FileChannel ch = FileChannel.open(file.toPath(), StandardOpenOption.READ)) {
          if (ch.size() < length) {
            throw new EOFException(
                String.format("%s shrank from %d to %d bytes", path, length, ch.size()));
          }
          windows[i] = ch.map(FileChannel.MapMode.READ_ONLY, start, size);
        }
      }
      return windows[i];
    }

    @Override
    void verify() throws IOException {
      long now = file.length();
      if (now < length) {
        throw new EOFException(
            String.format("%s shrank from %d to %d bytes while being read", path, length, now));
      }
    }

    @Override
    ByteBuffer view(long position, int len) throws IOException {
      int w = (int) (position / MAP_WINDOW);
      long inWindow = position - w * MAP_WINDOW;
      if (inWindow + len > MAP_WINDOW) {
        return null;
      }
      return window(w).slice((int) inWindow, len);
    }

    @Override
    void readChecked(long position, ByteBuffer dst) throws IOException {
      while (dst.hasRemaining()) {
        int w = (int) (position / MAP_WINDOW);
        int inWindow = (int) (position - w * MAP_WINDOW);
        MappedByteBuffer win = window(w);
        int n = Math.min(dst.remaining(), win.capacity() - inWindow);
        dst.put(win.slice(inWindow, n));
        position += n;
      }
      verify();
    }

    @Override
    InputStream stream() throws IOException {
      return new java.io.FileInputStream(file);
    }
  }

  /**
   * A file on a remote filesystem. Opened per read with the known status (no extra HEAD request)
   * and a random read policy, so nothing stays open between reads and no connection leaks.
   */
  static final class Remote extends ByteSource {
    private final FileSystem fs;
    private final FileStatus status;

    /** readVectored calls made (tests check that the vectored path ran). */
    final java.util.concurrent.atomic.AtomicLong vectoredReads =
        new java.util.concurrent.atomic.AtomicLong();

    Remote(Path path, long length, FileSystem fs, FileStatus status) {
      super(path, length);
      this.fs = fs;
      this.status = status;
    }

    @Override
    boolean vectored() {
      return true;
    }

    /**
     * One {@code readVectored} call on a stream opened for vectored IO with the known status: S3A
     * coalesces nearby ranges and fetches them in parallel. Each range must come back whole.
     */
    @Override
    void readRanges(List<FileRange> ranges, RangeConsumer consumer) throws IOException {
      for (FileRange r : ranges) {
        Preconditions.checkArgument(
            r.getOffset() >= 0 && r.getOffset() + r.getLength() <= length,
            "Read of %s bytes at %s outside %s (%s bytes)",
            r.getLength(),
            r.getOffset(),
            path,
            length);
      }
      try (FSDataInputStream in =
          open(Options.OpenFileOptions.FS_OPTION_OPENFILE_READ_POLICY_VECTOR)) {
        in.readVectored(ranges, ByteBuffer::allocate);
        vectoredReads.incrementAndGet();
        for (FileRange r : ranges) {
          ByteBuffer data;
          try {
            data = FutureIO.awaitFuture(r.getData());
            if (data.remaining() != r.getLength()) {
              throw new EOFException(
                  String.format(
                      "Vectored read of %s returned %d of %d bytes at %d",
                      path, data.remaining(), r.getLength(), r.getOffset()));
            }
          } catch (IOException e) {
            throw new RangeFailure(r, e);
          } catch (RuntimeException e) {
            throw new RangeFailure(r, new IOException(e.toString(), e));
          }
          consumer.accept(r, data);
        }
      }
    }

    FSDataInputStream openRandom() throws IOException {
      return open(Options.OpenFileOptions.FS_OPTION_OPENFILE_READ_POLICY_RANDOM);
    }

    private FSDataInputStream open(String policy) throws IOException {
      try {
        return fs.openFile(path)
            .withFileStatus(status)
            .opt(Options.OpenFileOptions.FS_OPTION_OPENFILE_READ_POLICY, policy)
            .opt(Options.OpenFileOptions.FS_OPTION_OPENFILE_LENGTH, length)
            .build()
            .get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("Interrupted opening " + path);
      } catch (java.util.concurrent.ExecutionException e) {
        if (e.getCause() instanceof IOException io) {
          throw io;
        }
        throw new IOException("Cannot open " + path, e.getCause());
      }
    }

    @Override
    Reader reader() throws IOException {
      FSDataInputStream in = openRandom();
      return new Reader() {
        @Override
        public void read(long position, ByteBuffer dst) throws IOException {
          Preconditions.checkArgument(
              position >= 0 && position + dst.remaining() <= length, "Read outside %s", path);
          Remote.read(in, position, dst);
        }

        @Override
        public void close() throws IOException {
          in.close();
        }
      };
    }

    @Override
    void readChecked(long position, ByteBuffer dst) throws IOException {
      try (FSDataInputStream in = openRandom()) {
        read(in, position, dst);
      }
    }

    /** Positioned reads through a bounded heap buffer; readFully fails on a short read. */
    static void read(FSDataInputStream in, long position, ByteBuffer dst) throws IOException {
      if (dst.hasArray()) {
        int n = dst.remaining();
        in.readFully(position, dst.array(), dst.arrayOffset() + dst.position(), n);
        dst.position(dst.position() + n);
        return;
      }
      byte[] chunk = new byte[Math.min(REMOTE_CHUNK, dst.remaining())];
      while (dst.hasRemaining()) {
        int n = Math.min(chunk.length, dst.remaining());
        in.readFully(position, chunk, 0, n);
        dst.put(chunk, 0, n);
        position += n;
      }
    }

    @Override
    InputStream stream() throws IOException {
      return open(Options.OpenFileOptions.FS_OPTION_OPENFILE_READ_POLICY_WHOLE_FILE);
    }
  }

  /** Bytes already in memory (tests, fuzzing, small downloaded files). */
  static final class InMemory extends ByteSource {
    private final byte[] array;
    private final ByteBuffer bytes;

    InMemory(Path path, byte[] bytes) {
      super(path, bytes.length);
      this.array = bytes;
      this.bytes = ByteBuffer.wrap(bytes).asReadOnlyBuffer();
    }

    @Override
    void readChecked(long position, ByteBuffer dst) {
      dst.put(bytes.slice((int) position, dst.remaining()));
    }

    @Override
    InputStream stream() {
      return new java.io.ByteArrayInputStream(array);
    }
  }
}
