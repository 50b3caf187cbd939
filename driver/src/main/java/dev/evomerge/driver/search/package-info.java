/**
 * The search engine: genomes and the strategies that propose them (ask) and learn from their
 * fitness (tell). Knows nothing of Spark or of models; fitness is higher-is-better and NaN or
 * -infinity marks a failed candidate.
 *
 * <ul>
 *   <li>{@link dev.evomerge.driver.search.GenomeSpace}: what genes mean (merge method, evolved
 *       parameters, layer groups, name filters, smooth anchors, raw or softmax weights); decodes a
 *       {@link dev.evomerge.driver.search.Genome} to a mergekit-expressible {@link
 *       dev.evomerge.driver.search.MergeRecipe} and encodes one back.
 *   <li>Strategies, created by name through {@link dev.evomerge.driver.search.Strategies}: random
 *       search, differential evolution (Evolver and rand/1/bin), CMA-ES with IPOP restarts, a GA as
 *       in EvoGM, and NSGA-II ({@link dev.evomerge.driver.search.MultiObjectiveStrategy}). Each is
 *       seeded and deterministic and enforces its bounds itself.
 *   <li>{@link dev.evomerge.driver.search.SearchRun}: a strategy with its ledger and {@link
 *       dev.evomerge.driver.search.StoppingRules}; checkpoints to JSON and resumes bit for bit by
 *       replaying the ledger.
 * </ul>
 */
package dev.evomerge.driver.search;
