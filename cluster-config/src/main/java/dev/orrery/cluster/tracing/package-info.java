/**
 * Traces of runs: the OpenTelemetry SDK with its OTLP exporter, installed for the JVM when a node has an
 * endpoint ({@link dev.orrery.cluster.tracing.NodeTracing}), and the spans of runs and steps made from what
 * the runs persist ({@link dev.orrery.cluster.tracing.RunSpans}). The router, the sandbox and the edge make
 * their own spans through {@code dev.orrery.core.trace}.
 */
package dev.orrery.cluster.tracing;
