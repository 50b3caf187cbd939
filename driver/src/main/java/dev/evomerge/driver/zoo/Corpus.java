package dev.evomerge.driver.zoo;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Text generators of the zoo, in the base language. Every generator is a pure function of its
 * random source; numbers are digits (shared by both languages, as Japanese math problems write
 * Arabic numerals).
 *
 * <ul>
 *   <li>stories: animals, places and people having, getting and giving away things, with "how many
 *       ... ? answer N" questions whose answer is stated in the text (reading, no arithmetic);
 *   <li>recipes and match reports: two genres with their own vocabulary and structure (a match
 *       report's winner follows from the scores);
 *   <li>math: word problems whose answer needs one addition or subtraction, half of them
 *       subtractions, so that the operation must be read from the words.
 * </ul>
 */
final class Corpus {
  static final List<String> NAMES = List.of("tom", "ana", "ben", "eva", "sam", "lia", "max", "zoe");
  static final List<String> ITEMS =
      List.of("apples", "pears", "eggs", "coins", "books", "cups", "stones", "shells");
  static final List<String> ANIMALS =
      List.of("fox", "cat", "dog", "bird", "bear", "owl", "frog", "duck");
  static final List<String> PLACES =
      List.of("river", "forest", "hill", "town", "lake", "field", "garden", "market");
  static final List<String> MOVES = List.of("walks", "runs", "goes", "swims");
  static final List<String> THINGS = List.of("trees", "fish", "flowers", "stars", "boats");
  static final List<String> MOODS = List.of("happy", "tired", "cold", "warm", "quiet", "hungry");
  static final List<String> INGREDIENTS =
      List.of("flour", "milk", "sugar", "butter", "rice", "salt", "honey", "cream");
  static final List<String> TEXTURES = List.of("smooth", "thick", "soft", "golden");
  static final List<String> SERVE = List.of("warm", "cold", "hot", "fresh");
  static final List<String> TEAMS = List.of("red", "blue", "green", "white", "black", "gold");
  static final List<String> FANS = List.of("loud", "happy", "sad", "quiet");

  /** The word that introduces an answer; an "answer N" tail is not reordered by translation. */
  static final String ANSWER = "answer";

  private Corpus() {}

  /** A word problem: the text up to and including "answer", and the number that follows. */
  record Problem(String prompt, int answer) {
    String text() {
      return prompt + " " + answer;
    }
  }

  static String story(SplittableRandom r) {
    int sentences = 3 + r.nextInt(3);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < sentences; i++) {
      if (i > 0) {
        sb.append(' ');
      }
      String name = pick(r, NAMES);
      String item = pick(r, ITEMS);
      int k = 1 + r.nextInt(9);
      sb.append(
          switch (r.nextInt(7)) {
            case 0 ->
                "the "
                    + pick(r, ANIMALS)
                    + " "
                    + pick(r, MOVES)
                    + " to the "
                    + pick(r, PLACES)
                    + " .";
            case 1 -> "the " + pick(r, ANIMALS) + " sees " + k + " " + pick(r, THINGS) + " .";
            case 2 -> "the " + pick(r, ANIMALS) + " is " + pick(r, MOODS) + " .";
            case 3 -> name + " gets " + k + " more " + item + " at the " + pick(r, PLACES) + " .";
            case 4 -> name + " gives away " + k + " " + item + " .";
            case 5 -> name + " has " + k + " " + item + " .";
            default ->
                name
                    + " has "
                    + k
                    + " "
                    + item
                    + " . how many "
                    + item
                    + " does "
                    + name
                    + " have ? "
                    + ANSWER
                    + " "
                    + k
                    + " .";
          });
    }
    return sb.toString();
  }

  static String recipe(SplittableRandom r) {
    String a = pick(r, INGREDIENTS);
    String b = other(r, INGREDIENTS, a);
    StringBuilder sb = new StringBuilder();
    sb.append("take ").append(1 + r.nextInt(9)).append(" cups of ").append(a).append(" .");
    if (r.nextBoolean()) {
      sb.append(" add ").append(1 + r.nextInt(9)).append(" spoons of ").append(b).append(" .");
    }
    sb.append(" mix the ").append(a).append(" with the ").append(b).append(" .");
    sb.append(" stir it until it is ").append(pick(r, TEXTURES)).append(" .");
    sb.append(" bake it for ").append(10 + r.nextInt(11)).append(" minutes .");
    sb.append(" serve it ").append(pick(r, SERVE)).append(" .");
    return sb.toString();
  }

  /** A match report; the winner follows from the scores (never a draw). */
  static String match(SplittableRandom r) {
    String[] parts = matchParts(r);
    return parts[0] + " " + parts[1] + " " + pick(r, FANS) + " .";
  }

  /** {@code [report up to "the", "winner team wins . the fans are", loser's line]}. */
  static String[] matchParts(SplittableRandom r) {
    String a = pick(r, TEAMS);
    String b = other(r, TEAMS, a);
    int x = r.nextInt(8);
    int y = r.nextInt(8);
    while (y == x) {
      y = r.nextInt(8);
    }
    String context =
        "the "
            + a
            + " team plays the "
            + b
            + " team . the "
            + a
            + " team scores "
            + x
            + " goals . the "
            + b
            + " team scores "
            + y
            + " goals . the";
    String winner = x > y ? a : b;
    String loser = x > y ? b : a;
    return new String[] {context, winner + " team wins . the fans are", loser};
  }

  static Problem problem(SplittableRandom r) {
    String n = pick(r, NAMES);
    String item = pick(r, ITEMS);
    int kind = r.nextInt(4);
    if (kind <= 1) {
      int a = 2 + r.nextInt(8);
      int b = 1 + r.nextInt(a - 1);
      return new Problem(
          n
              + " has "
              + a
              + " "
              + item
              + " . "
              + n
              + " gives away "
              + b
              + " "
              + item
              + " . how many "
              + item
              + " does "
              + n
              + " have ? "
              + ANSWER,
          a - b);
    }
    int a = 1 + r.nextInt(9);
    int b = 1 + r.nextInt(9);
    if (kind == 2) {
      return new Problem(
          n
              + " has "
              + a
              + " "
              + item
              + " . "
              + n
              + " gets "
              + b
              + " more "
              + item
              + " . how many "
              + item
              + " does "
              + n
              + " have ? "
              + ANSWER,
          a + b);
    }
    String m = other(r, NAMES, n);
    return new Problem(
        n
            + " has "
            + a
            + " "
            + item
            + " . "
            + m
            + " has "
            + b
            + " "
            + item
            + " . how many "
            + item
            + " do they have together ? "
            + ANSWER,
        a + b);
  }

  /** Every word the generators can produce, digits and punctuation excluded. */
  static Set<String> words() {
    Set<String> out = new LinkedHashSet<>();
    for (List<String> l :
        List.of(
            NAMES,
            ITEMS,
            ANIMALS,
            PLACES,
            MOVES,
            THINGS,
            MOODS,
            INGREDIENTS,
            TEXTURES,
            SERVE,
            TEAMS,
            FANS)) {
      out.addAll(l);
    }
    for (String w :
        ("the to sees is gets more at gives away has how many does have do they together "
                + ANSWER
                + " take cups of add spoons mix with stir it until bake for minutes serve team"
                + " plays scores goals wins fans are")
            .split(" ")) {
      out.add(w);
    }
    return out;
  }

  /** Largest number any generator writes. */
  static final int MAX_NUMBER = 20;

  /**
   * {@code n} distinct texts from {@code gen} (duplicates redrawn), split in that order into the
   * given sizes: the splits never share a text.
   */
  static <T> List<List<T>> distinctSplits(
      SplittableRandom r,
      Function<SplittableRandom, T> gen,
      Function<T, String> key,
      int... sizes) {
    int total = 0;
    for (int s : sizes) {
      total += s;
    }
    Set<String> seen = new LinkedHashSet<>();
    List<T> all = new ArrayList<>();
    int attempts = 0;
    while (all.size() < total) {
      T t = gen.apply(r);
      if (seen.add(key.apply(t))) {
        all.add(t);
      }
      if (++attempts > 100 * total) {
        throw new IllegalStateException(
            "Cannot draw " + total + " distinct texts (got " + all.size() + ")");
      }
    }
    List<List<T>> out = new ArrayList<>();
    int from = 0;
    for (int s : sizes) {
      out.add(List.copyOf(all.subList(from, from + s)));
      from += s;
    }
    return out;
  }

  private static String pick(SplittableRandom r, List<String> from) {
    return from.get(r.nextInt(from.size()));
  }

  private static String other(SplittableRandom r, List<String> from, String not) {
    String s = pick(r, from);
    while (s.equals(not)) {
      s = pick(r, from);
    }
    return s;
  }
}
