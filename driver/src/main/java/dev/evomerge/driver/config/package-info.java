/**
 * Run configuration: HOCON files read with Typesafe Config over the documented {@code
 * reference.conf}, with overrides, strict key checking and typed settings.
 */
package dev.evomerge.driver.config;
