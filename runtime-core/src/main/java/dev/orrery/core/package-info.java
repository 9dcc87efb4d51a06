/**
 * The heart of Orrery: the workflow model, its validation and planning, the Run entity, and the ports
 * (LLM, tools, agents, budget) that the capability modules implement. It depends on no other module of
 * ours.
 */
package dev.orrery.core;
