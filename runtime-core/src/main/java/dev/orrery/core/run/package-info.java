/**
 * The Run entity: one event-sourced, sharded actor per run that persists every decision, asks the pure
 * planner what is ready, and runs one child step actor per scheduled step. Its events, state and view
 * sit together here; it reaches LLMs only through {@code dev.orrery.core.port}.
 */
package dev.orrery.core.run;
