/**
 * The Tenant entity with its commands, events and state: budgets per period, token limits, the kill switch,
 * API keys as hashes with their roles, the limit on active runs, and the ledger of every LLM call's
 * reservation. {@link dev.orrery.ledger.tenant.Tenants} asks it from outside an actor.
 */
package dev.orrery.ledger.tenant;
