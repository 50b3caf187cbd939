package dev.evomerge.worker.stats;

import java.io.Serializable;

/**
 * One tokenised sequence of one model's statistics data, as an executor receives it in its shard.
 *
 * @param model the model's name ({@link StatisticsSpec#models()})
 * @param ids token ids, BOS first where the model uses one
 */
public record StatisticsRow(String model, long[] ids) implements Serializable {}
