/**
 * The thin adapter between Spark and the executor core: partition functions that call {@link
 * dev.evomerge.worker.eval.ShardEvaluator}, the executor plugin that exposes the cache's metrics,
 * and Kryo registration for the value types that cross the wire. The only package of worker-udf
 * that imports Spark.
 */
package dev.evomerge.worker.spark;
