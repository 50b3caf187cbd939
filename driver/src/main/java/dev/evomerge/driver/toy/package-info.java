/**
 * A synthetic zoo for the walking skeleton and its tests: small random Llama checkpoints, a
 * character tokenizer, and dev text sampled from a hidden target that is a known linear merge of
 * the sources, so a search has a right answer to find. The trained zoo of the main job is {@code
 * dev.evomerge.driver.zoo}.
 */
package dev.evomerge.driver.toy;
