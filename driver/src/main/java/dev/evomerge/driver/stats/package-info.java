/**
 * The statistics job: the Fisher and Gram statistics of source models on their data, computed on
 * the cluster shard by shard, added on the driver and written beside each model, where {@code
 * evomerge merge} and the {@code fisher} / {@code regmean} methods find them.
 */
package dev.evomerge.driver.stats;
