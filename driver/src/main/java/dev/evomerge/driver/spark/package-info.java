/**
 * Spark orchestration on the driver: the SparkSession a run uses, the dev set as a cached RDD of
 * shards, and each generation as one Spark job (broadcast candidates, score shards, reduce).
 */
package dev.evomerge.driver.spark;
