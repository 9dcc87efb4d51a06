/**
 * The pure planner: given a compiled workflow, a run's data and each node's phase, it says which nodes to
 * skip, which are ready to run, and whether the run is finished. No clock, no randomness and no actors,
 * so replaying a run's events asks it the same questions and gets the same answers.
 */
package dev.orrery.core.plan;
