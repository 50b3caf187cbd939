/** {@code evomerge score}: one model scored on dev tasks on this machine, without Spark. */
package dev.evomerge.driver.score;
