/**
 * One provider endpoint's wire protocol: the adapter contract ({@link ProviderAdapter}), its request and
 * answer, its failures, and the adapters (OpenAI-compatible, Anthropic Messages, simulated). Adapters
 * know HTTP and JSON, never actors, routes or budgets.
 */
package dev.orrery.router.provider;
