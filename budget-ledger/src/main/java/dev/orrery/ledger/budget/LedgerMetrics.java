package dev.orrery.ledger.budget;

import dev.orrery.core.Instrumentation;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.port.Usage;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import kamon.Kamon;
import kamon.metric.Counter;

/**
 * What the ledger charged and refused, by tenant (and provider and model for charges):
 * {@code budget_tokens_settled_total}, {@code budget_cost_micros_settled_total} (USD micros) and
 * {@code budget_reservations_refused_total{tenant,code}} ({@code BUDGET_EXCEEDED}, the kill switch …).
 */
final class LedgerMetrics {
  /** Both charge counters of a tenant, provider and model, resolved once: every call is settled. */
  private record Charges(Counter tokens, Counter costMicros) {}

  /**
   * Kept per node (with its {@link BudgetedLlmPort}), not per class: a JVM that stops its last node starts
   * Kamon again for the next one (the tests do), and instruments resolved before no longer reach the scrape.
   */
  private final Map<String, Charges> charges = new ConcurrentHashMap<>();

  void settled(String tenant, String provider, String model, Usage usage) {
    if (usage == null || !Instrumentation.enabled()) return;
    String p = provider == null ? "unknown" : provider;
    String m = model == null ? "unknown" : model;
    Charges resolved = charges.computeIfAbsent(tenant + "/" + p + "/" + m, k -> new Charges(
        Kamon.counter("budget.tokens.settled").withTag("tenant", tenant).withTag("provider", p).withTag("model", m),
        Kamon.counter("budget.cost.micros.settled").withTag("tenant", tenant).withTag("provider", p)
            .withTag("model", m)));
    resolved.tokens().increment(usage.tokensIn() + usage.tokensOut());
    resolved.costMicros().increment(usage.costMicros());
  }

  void refused(String tenant, Throwable error) {
    if (!Instrumentation.enabled()) return;
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    String code = cause instanceof StepFailure f ? f.code() : "INTERNAL";
    Kamon.counter("budget.reservations.refused").withTag("tenant", tenant).withTag("code", code).increment();
  }
}
