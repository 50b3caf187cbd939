/** Throughput benchmark of the merge engine's combine step against a plain copy. */
package dev.evomerge.worker.merge.bench;
