package dev.orrery.ledger.budget;

import dev.orrery.core.Instrumentation;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.port.Usage;
import java.util.concurrent.CompletionException;
import kamon.Kamon;

/**
 * What the ledger charged and refused, by tenant (and provider and model for charges):
 * {@code budget_tokens_settled_total}, {@code budget_cost_micros_settled_total} (USD micros) and
 * {@code budget_reservations_refused_total{tenant,code}} ({@code BUDGET_EXCEEDED}, the kill switch …).
 */
final class LedgerMetrics {
  private LedgerMetrics() {}

  static void settled(String tenant, String provider, String model, Usage usage) {
    if (usage == null || !Instrumentation.enabled()) return;
    String p = provider == null ? "unknown" : provider;
    String m = model == null ? "unknown" : model;
    Kamon.counter("budget.tokens.settled").withTag("tenant", tenant).withTag("provider", p).withTag("model", m)
        .increment(usage.tokensIn() + usage.tokensOut());
    Kamon.counter("budget.cost.micros.settled").withTag("tenant", tenant).withTag("provider", p).withTag("model", m)
        .increment(usage.costMicros());
  }

  static void refused(String tenant, Throwable error) {
    if (!Instrumentation.enabled()) return;
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    String code = cause instanceof StepFailure f ? f.code() : "INTERNAL";
    Kamon.counter("budget.reservations.refused").withTag("tenant", tenant).withTag("code", code).increment();
  }
}
