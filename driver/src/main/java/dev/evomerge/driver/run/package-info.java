/**
 * One search run: checks done before any cluster work, the generation loop (ask, evaluate, reduce,
 * tell) and the run folder it writes.
 */
package dev.evomerge.driver.run;
