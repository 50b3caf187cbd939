/** {@code evomerge inspect}: what a checkpoint holds, from its headers only. */
package dev.evomerge.driver.inspect;
