/**
 * The search engine: genomes and the strategies that propose them (ask) and learn from their
 * fitness (tell). Knows nothing of Spark or of models; fitness is higher-is-better.
 */
package dev.evomerge.driver.search;
