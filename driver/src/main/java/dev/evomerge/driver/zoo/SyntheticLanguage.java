package dev.evomerge.driver.zoo;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The zoo's second language: every content word (names, nouns, verbs, adjectives, the words that
 * say which operation a word problem asks for, and "answer") maps to its own made-up word (two
 * syllables, drawn from a seed); the function words of {@link #SHARED}, digits and punctuation are
 * shared, and the word order is the base language's. So "tom has 5 apples ." becomes "X Y 5 Z ."
 * and "how many" stays. Sharing structure is what lets a skill learned in one language transfer in
 * weight space to the other (as Japanese math writes Arabic numerals and keeps a grammar that
 * pretraining on both languages aligns).
 */
final class SyntheticLanguage {
  /** Function words both languages share (not translated). */
  static final Set<String> SHARED =
      Set.of("the", "to", "at", "is", "how", "many", "does", "do", "they", "of", "with", "it");

  private static final String[] CONSONANTS = {"k", "m", "n", "p", "r", "s", "t", "v", "z", "l"};
  private static final String[] VOWELS = {"a", "e", "i", "o", "u"};

  private final Map<String, String> lexicon;

  private SyntheticLanguage(Map<String, String> lexicon) {
    this.lexicon = lexicon;
  }

  /**
   * A lexicon for {@code words} (less {@link #SHARED}) from the seed; no made-up word is also a
   * base-language word.
   */
  static SyntheticLanguage create(Set<String> words, long seed) {
    List<String> candidates = new ArrayList<>();
    for (String c1 : CONSONANTS) {
      for (String v1 : VOWELS) {
        for (String c2 : CONSONANTS) {
          for (String v2 : VOWELS) {
            String w = c1 + v1 + c2 + v2;
            if (!words.contains(w)) {
              candidates.add(w);
            }
          }
        }
      }
    }
    Collections.shuffle(candidates, new java.util.Random(seed));
    Preconditions.checkArgument(
        candidates.size() >= words.size(), "Too many words for the synthetic lexicon");
    Map<String, String> lexicon = new LinkedHashMap<>();
    int i = 0;
    for (String w : words) {
      if (!SHARED.contains(w)) {
        lexicon.put(w, candidates.get(i++));
      }
    }
    return new SyntheticLanguage(lexicon);
  }

  /** The synthetic word for each translated base-language word. */
  Map<String, String> lexicon() {
    return Collections.unmodifiableMap(lexicon);
  }

  /** Translates base-language text; a word outside the lexicon is an error naming it. */
  String translate(String text) {
    List<String> out = new ArrayList<>();
    for (String t : text.trim().split(" ")) {
      if (t.equals(".") || t.equals("?") || isNumber(t) || SHARED.contains(t)) {
        out.add(t);
      } else {
        out.add(word(t));
      }
    }
    return String.join(" ", out);
  }

  private String word(String w) {
    String s = lexicon.get(w);
    if (s == null) {
      throw new IllegalArgumentException("Word " + w + " has no synthetic translation");
    }
    return s;
  }

  static boolean isNumber(String t) {
    return !t.isEmpty() && t.chars().allMatch(Character::isDigit);
  }
}
