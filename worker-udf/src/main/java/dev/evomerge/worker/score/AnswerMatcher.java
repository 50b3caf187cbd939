package dev.evomerge.worker.score;

import java.math.BigDecimal;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Answer extraction from generated text, and exact or numeric comparison with the reference. */
public final class AnswerMatcher {
  private AnswerMatcher() {}

  /**
   * The last non-empty match of {@code regex} in {@code text} (its group 1 if it has one), or "".
   */
  public static String extract(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    String last = "";
    while (m.find()) {
      String found = m.groupCount() >= 1 && m.group(1) != null ? m.group(1) : m.group();
      if (!found.isEmpty()) {
        last = found;
      }
    }
    return last.trim();
  }

  /**
   * Whether the extracted answer matches the reference: {@code exact} compares trimmed strings;
   * {@code numeric} compares numbers (commas and a trailing period ignored; a reference that is not
   * itself a number contributes its last number, as GSM8K's {@code "#### 72"}).
   */
  public static boolean matches(String extracted, String reference, String mode) {
    if (mode.equals("exact")) {
      return extracted.trim().equals(reference.trim());
    }
    BigDecimal got = number(extracted);
    BigDecimal want = number(reference);
    if (want == null) {
      want = number(extract(reference, TaskSpec.LAST_NUMBER));
    }
    return got != null && want != null && got.compareTo(want) == 0;
  }

  static BigDecimal number(String s) {
    String t = s.trim().replace(",", "").replace("$", "");
    if (t.endsWith(".")) {
      t = t.substring(0, t.length() - 1);
    }
    try {
      return new BigDecimal(t);
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
