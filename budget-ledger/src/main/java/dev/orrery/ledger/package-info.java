/**
 * The budget ledger: tenants with their budgets, keys and kill switch, the reservation protocol that
 * keeps every LLM call inside them, and the usage read side. Depends only on runtime-core, whose ports it
 * implements.
 */
package dev.orrery.ledger;
