package dev.evomerge.worker.model;

/**
 * Garbage collections back to back on a daemon thread while open, for tests of code that must not
 * depend on when the JVM frees what is unreachable (direct buffers that PyTorch tensors wrap).
 */
public final class GarbageCollections implements AutoCloseable {
  private final Thread thread;

  private GarbageCollections(long pauseMillis) {
    thread =
        new Thread(
            () -> {
              while (!Thread.currentThread().isInterrupted()) {
                System.gc();
                try {
                  Thread.sleep(pauseMillis);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "test-gc");
    thread.setDaemon(true);
    thread.start();
  }

  /** Starts collecting, one collection every {@code pauseMillis} ms or so. */
  public static GarbageCollections every(long pauseMillis) {
    return new GarbageCollections(pauseMillis);
  }

  @Override
  public void close() throws InterruptedException {
    thread.interrupt();
    thread.join();
  }
}
