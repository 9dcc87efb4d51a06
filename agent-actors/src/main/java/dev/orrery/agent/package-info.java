/**
 * Agents as data: the port a workflow's {@code agent} node and the HTTP edge call ({@link
 * dev.orrery.core.port.AgentPort}) and the service behind it. Depends on runtime-core only; definitions live in
 * {@code definition}, the entity that runs the loop in {@code instance}.
 */
package dev.orrery.agent;
