package dev.evomerge.worker.score;

import java.io.Serializable;

/**
 * One dev-set row.
 *
 * @param index row number in the dev set, for provenance and stable ordering
 * @param text the text to score
 */
public record DevExample(long index, String text) implements Serializable {}
