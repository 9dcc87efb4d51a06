/**
 * Load drivers that start a real node and print what they measured (throughput, latency percentiles,
 * the machine). They assert nothing; the figures go to docs/benchmarks.md.
 */
package dev.orrery.bench;
