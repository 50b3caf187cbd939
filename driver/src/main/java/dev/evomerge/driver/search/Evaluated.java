package dev.evomerge.driver.search;

/** A genome with its fitness (higher is better). */
public record Evaluated(Genome genome, double fitness) {}
