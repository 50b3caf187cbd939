/**
 * The executor's inner loop without Spark: resident source models in a JVM-wide cache bounded in
 * bytes ({@link dev.evomerge.worker.eval.ResidentCache}), a candidate's merge coefficients
 * materialised into weights, and its score on one dev shard.
 */
package dev.evomerge.worker.eval;
