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
 *
 * <p>On the CPU, the sparsified task-arithmetic methods (TIES trim, DARE drop, breadcrumbs band,
 * with or without the TIES sign consensus) combine in one fused pass over the task vectors' memory
 * with a Vector API kernel ({@code FusedKernel}, selected as the BF16 kernel of the io package is:
 * module present and a start-up self-check against the scalar kernel; {@code
 * -Devomerge.merge.fused=false} turns it off); other devices and methods run on DJL NDArrays.
 */
package dev.evomerge.worker.merge;
