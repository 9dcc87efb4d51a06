/**
 * Routes and the router's face to the run: settings read from {@code orrery.llm} (providers, routes,
 * or the providers' usual environment variables), the routing policies, the {@link
 * dev.orrery.router.route.Router} that tries providers in a policy's order, and {@link
 * dev.orrery.router.route.LlmRouter}, runtime-core's {@code LlmPort}. It drives the provider actors of
 * {@code dev.orrery.router.actor} and creates adapters through an {@link
 * dev.orrery.router.route.AdapterFactory}; only here are prices, tiers and step failure codes known.
 */
package dev.orrery.router.route;
