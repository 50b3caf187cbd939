package dev.evomerge.worker.io;

/** A checkpoint file or folder that cannot be read or written; the message names the file. */
public class CheckpointException extends RuntimeException {
  public CheckpointException(String message) {
    super(message);
  }

  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }
}
