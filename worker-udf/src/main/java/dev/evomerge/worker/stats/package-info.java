/**
 * Statistics of a source model on its data, for the data-driven merge methods: the diagonal Fisher
 * information of every tensor ({@code fisher}) and the Gram matrix {@code X^T X} of every linear
 * layer's inputs ({@code regmean}), computed on one machine through the runtime's own forward pass
 * ({@link dev.evomerge.worker.model.LlamaModel}) under DJL autograd, as partial sums that shards
 * add, and written as a {@link dev.evomerge.worker.merge.StatisticsFolder}. No Spark here.
 */
package dev.evomerge.worker.stats;
