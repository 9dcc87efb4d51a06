/**
 * One {@link dev.orrery.router.actor.ProviderActor} per provider endpoint per node: its circuit breaker,
 * its request and token buckets (a per-node share of the cluster-wide limit), its bounded, tenant-fair
 * queue with a concurrency limit, retries and per-attempt timeouts. It knows the adapter contract of
 * {@code dev.orrery.router.provider}, never routes, prices or the step's port.
 */
package dev.orrery.router.actor;
