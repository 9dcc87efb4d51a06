/**
 * The reservation protocol on the tenants: {@link dev.orrery.ledger.budget.BudgetLedger} implements
 * runtime-core's {@code BudgetPort} with a group-committing batcher per node, and
 * {@link dev.orrery.ledger.budget.BudgetedLlmPort} puts it in front of every LLM call.
 */
package dev.orrery.ledger.budget;
