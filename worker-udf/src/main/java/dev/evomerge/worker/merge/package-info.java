/**
 * The merge engine: every mergekit method as a {@link dev.evomerge.worker.merge.MergeMethod}
 * registered by name in {@link dev.evomerge.worker.merge.MergeMethods}, computed per tensor on DJL
 * NDArrays on whatever device the caller's {@code NDManager} lives on.
 *
 * <p>The work is split in two so the search can keep inputs resident: {@link
 * dev.evomerge.worker.merge.MergeEngine#prepare} stacks a tensor's inputs and task vectors once per
 * executor, {@link dev.evomerge.worker.merge.MergeEngine#combine} computes one candidate from them.
 * The data-driven methods ({@code fisher}, {@code regmean}) also stack per-model statistics at
 * prepare time, from a {@link dev.evomerge.worker.merge.MergeStatistics} such as {@link
 * dev.evomerge.worker.merge.StatisticsFolder}. Recipes are mergekit YAML ({@link
 * dev.evomerge.worker.merge.RecipeYaml}); {@link dev.evomerge.worker.merge.MergeRunner} is the
 * one-shot merge of checkpoint folders. No Spark here.
 */
package dev.evomerge.worker.merge;
