package dev.evomerge.worker.model;

/** A {@code config.json} or weight set the runtime cannot evaluate faithfully. */
public class ModelConfigException extends RuntimeException {
  public ModelConfigException(String message) {
    super(message);
  }
}
