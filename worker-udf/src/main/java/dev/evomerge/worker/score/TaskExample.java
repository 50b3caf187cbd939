package dev.evomerge.worker.score;

import java.io.Serializable;
import java.util.List;

/**
 * One row of a task's dev set.
 *
 * @param index row number in the task's file, for provenance and stable ordering
 * @param input loglik and classify: the text; multiple_choice: the context; generate: the prompt
 * @param choices multiple_choice only, else empty
 * @param answerIndex multiple_choice: index of the right choice, else -1
 * @param answer generate: the reference answer; classify: the gold label; else empty
 */
public record TaskExample(
    long index, String input, List<String> choices, int answerIndex, String answer)
    implements Serializable {
  public TaskExample {
    choices = List.copyOf(choices);
  }

  public static TaskExample text(long index, String text) {
    return new TaskExample(index, text, List.of(), -1, "");
  }

  public static TaskExample choice(long index, String context, List<String> choices, int answer) {
    return new TaskExample(index, context, choices, answer, "");
  }

  public static TaskExample target(long index, String input, String answer) {
    return new TaskExample(index, input, List.of(), -1, answer);
  }
}
