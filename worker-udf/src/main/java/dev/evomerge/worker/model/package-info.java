/**
 * Model runtime: decoder-only transformers of the Llama family evaluated with DJL NDArrays on the
 * executor's device, with weights supplied by the caller (so a merged candidate can replace them).
 */
package dev.evomerge.worker.model;
