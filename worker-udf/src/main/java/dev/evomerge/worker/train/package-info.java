/**
 * Training small Llama-architecture models on DJL (PyTorch engine, CPU): next-token cross-entropy
 * through {@link dev.evomerge.worker.model.LlamaModel}'s own forward pass under DJL autograd, so
 * the trained weights give the runtime exactly the logits the trainer computed, and a hand-written
 * AdamW on NDArrays. Used to build the model zoo the demo and the tests merge; no Spark.
 */
package dev.evomerge.worker.train;
