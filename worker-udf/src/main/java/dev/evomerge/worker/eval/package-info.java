/**
 * The executor's inner loop without Spark: resident source models per JVM, a candidate's merge
 * coefficients materialised into weights, and its score on one dev shard.
 */
package dev.evomerge.worker.eval;
