/** The {@code evomerge} command line: {@code run}, {@code demo}, {@code toy-zoo}. */
package dev.evomerge.driver.cli;
