/**
 * Model runtime: decoder-only transformers of the Llama family (Llama, Mistral, Qwen2) evaluated
 * with DJL NDArrays on the executor's device, numerically as the Hugging Face definitions, with
 * weights supplied by the caller (so a merged candidate can replace them) and a KV cache for
 * decoding. Config fields whose math is not implemented are refused. {@link
 * dev.evomerge.worker.model.LayerPathModel} runs a path of layers taken from several such models
 * (data-flow-space merging) with the same layer forward; scoring takes either as a {@link
 * dev.evomerge.worker.model.LanguageModel}.
 */
package dev.evomerge.worker.model;
