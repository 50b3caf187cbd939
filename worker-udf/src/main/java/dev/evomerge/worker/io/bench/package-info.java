/** Benchmarks of checkpoint I/O, run as plain {@code main} classes (see {@link IoBenchmark}). */
package dev.evomerge.worker.io.bench;
