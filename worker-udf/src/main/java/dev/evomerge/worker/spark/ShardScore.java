package dev.evomerge.worker.spark;

import dev.evomerge.worker.eval.CandidateResult;

/**
 * A candidate's partial result on one dev shard, as an evaluation task returns it; the driver adds
 * a candidate's shards up in shard order, so fitness does not depend on how tasks were cut.
 */
public record ShardScore(long candidate, int shard, CandidateResult result) {}
