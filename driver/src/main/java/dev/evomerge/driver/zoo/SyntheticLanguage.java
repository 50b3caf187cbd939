package dev.evomerge.driver.zoo;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The zoo's second language: every base-language word maps to its own made-up word (two or three
 * syllables, drawn from a seed), and every sentence is said in reverse word order, its final {@code
 * .} or {@code ?} kept last (so "tom has 5 apples ." becomes "X 5 Y Z ."). Digits and punctuation
 * are shared; an answer tail "answer N" keeps its order ("A N").
 */
final class SyntheticLanguage {
  private static final String[] CONSONANTS = {"k", "m", "n", "p", "r", "s", "t", "v", "z", "l"};
  private static final String[] VOWELS = {"a", "e", "i", "o", "u"};

  private final Map<String, String> lexicon;

  private SyntheticLanguage(Map<String, String> lexicon) {
    this.lexicon = lexicon;
  }

  /** A lexicon for {@code words} from the seed; no made-up word is also a base-language word. */
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
      lexicon.put(w, candidates.get(i++));
    }
    return new SyntheticLanguage(lexicon);
  }

  /** The synthetic word for each base-language word. */
  Map<String, String> lexicon() {
    return Collections.unmodifiableMap(lexicon);
  }

  /** Translates base-language text; a word outside the lexicon is an error naming it. */
  String translate(String text) {
    List<String> out = new ArrayList<>();
    List<String> sentence = new ArrayList<>();
    String[] tokens = text.trim().split(" ");
    for (int i = 0; i < tokens.length; i++) {
      String t = tokens[i];
      if (t.equals(Corpus.ANSWER)) {
        flush(sentence, out);
        out.add(word(t));
        continue;
      }
      if (t.equals(".") || t.equals("?")) {
        Collections.reverse(sentence);
        out.addAll(sentence);
        out.add(t);
        sentence.clear();
      } else {
        sentence.add(isNumber(t) ? t : word(t));
      }
    }
    flush(sentence, out);
    return String.join(" ", out);
  }

  private static void flush(List<String> sentence, List<String> out) {
    // an unterminated tail (the number after "answer", or a cut prompt) keeps its order
    out.addAll(sentence);
    sentence.clear();
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
