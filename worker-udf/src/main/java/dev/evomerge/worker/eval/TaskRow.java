package dev.evomerge.worker.eval;

import dev.evomerge.worker.score.TaskExample;
import java.io.Serializable;

/**
 * One dev row of one task, as the executors receive it in their shard.
 *
 * @param task the task's name ({@link dev.evomerge.worker.score.TaskSpec#name()})
 * @param example the row
 */
public record TaskRow(String task, TaskExample example) implements Serializable {}
