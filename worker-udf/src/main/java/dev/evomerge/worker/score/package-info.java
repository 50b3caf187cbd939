/**
 * Scoring a model on dev-set rows: tokenisation with Hugging Face tokenizers and task metrics whose
 * partial sums reduce across shards (so the driver can combine them exactly).
 */
package dev.evomerge.worker.score;
