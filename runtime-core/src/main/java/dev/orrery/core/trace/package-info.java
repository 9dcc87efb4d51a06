/**
 * Traces: the run's W3C trace context, recorded in its journal so every node that hosts the run continues
 * the same trace, and the process's tracer. Only the OpenTelemetry API lives here (a no-op until a node
 * installs the SDK); nothing of ours.
 */
package dev.orrery.core.trace;
