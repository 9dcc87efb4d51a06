/**
 * The LLM router, runtime-core's {@code LlmPort}: routes and policies ({@code route}), a provider actor
 * per endpoint with its breaker, buckets and fair queue ({@code actor}), the adapters that speak each
 * provider's wire protocol ({@code provider}), the simulated provider ({@code sim}) and fault-injecting
 * fake servers for tests ({@code fake}).
 */
package dev.orrery.router;
