package dev.evomerge.driver.run;

/** A run that cannot start or go on; the message names the file, tensor or key at fault. */
public final class RunError extends RuntimeException {
  public RunError(String message) {
    super(message);
  }

  public RunError(String message, Throwable cause) {
    super(message, cause);
  }
}
