package dev.evomerge.driver.cli;

/** Small helpers for the commands that parse their own {@code --flag value} arguments. */
public final class Args {
  private Args() {}

  /** The value after {@code flag}, at {@code args[i]}. */
  public static String value(String[] args, int i, String flag) {
    if (i >= args.length) {
      throw new IllegalArgumentException(flag + " needs a value");
    }
    return args[i];
  }

  /** {@code v} as a positive integer, else an error naming {@code flag}. */
  public static int positiveInt(String v, String flag) {
    try {
      int n = Integer.parseInt(v);
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw new IllegalArgumentException(flag + " must be a positive integer, got " + v);
  }
}
