/** The {@code evomerge merge} command: a one-shot merge of a mergekit recipe into a checkpoint. */
package dev.evomerge.driver.merge;
