/**
 * The trained zoo of the main job: generated corpora (a base language with stories, recipes, match
 * reports and arithmetic word problems, and a synthetic second language with its own content words
 * and the base language's function words and word order), a word-level {@code tokenizer.json}, a
 * base model pretrained on the mix and experts fine-tuned from it with {@link
 * dev.evomerge.worker.train.LlamaTrainer}, and the dev/test task files the demo searches and
 * reports on. Everything is deterministic from a seed and built once under {@code work/}.
 */
package dev.evomerge.driver.zoo;
