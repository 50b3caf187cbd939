package dev.evomerge.driver.config;

/** A configuration problem, with a message that names the key and where it was set. */
public final class ConfigError extends RuntimeException {
  public ConfigError(String message) {
    super(message);
  }

  public ConfigError(String message, Throwable cause) {
    super(message, cause);
  }
}
