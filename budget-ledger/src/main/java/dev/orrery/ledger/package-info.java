/**
 * The budget ledger: tenants with their budgets, keys and kill switch, and the reservation protocol that
 * keeps every LLM call inside them. Depends only on runtime-core, whose ports it implements.
 */
package dev.orrery.ledger;
