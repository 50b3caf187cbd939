/** Benchmarks of the distributed search, reported as ratios measured inside one run. */
package dev.evomerge.driver.bench;
