/**
 * The simulated provider: deterministic answers derived from the prompt (and from the output schema when
 * a node asks for one), token counts from the text, configurable latency and failure rate. It exists as
 * a {@code ProviderAdapter} behind the router ({@link dev.orrery.router.sim.SimulatedAdapter}) and as a
 * direct {@code LlmPort}; demos, tests and benchmarks use it so that nothing calls a real provider.
 */
package dev.orrery.router.sim;
