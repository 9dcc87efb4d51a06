package dev.orrery.agent;

import dev.orrery.core.Instrumentation;
import dev.orrery.core.port.AgentAnswer;
import dev.orrery.core.port.AgentFailure;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.port.Usage;
import java.util.concurrent.CompletionException;
import kamon.Kamon;

/**
 * Every agent invocation as the metrics dashboards of agent platforms name them:
 * {@code agent_requests_total{agent_id,tenant,status}}, {@code agent_errors_total{agent_id,tenant,code}},
 * {@code agent_processing_seconds{agent_id}} (a histogram) and {@code agent_tokens_used_total{agent_id,tenant}}.
 * {@code agent_id} is the agent's name: bounded by the agents tenants define, never an instance or an
 * invocation.
 */
final class AgentMetrics {
  private AgentMetrics() {}

  /** Records one invocation that took {@code nanos} and ended with {@code answer} or {@code error}. */
  static void record(String tenantId, String agent, long nanos, AgentAnswer answer, Throwable error) {
    if (!Instrumentation.enabled()) return;
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    Usage usage = answer != null ? answer.usage()
        : cause instanceof AgentFailure f && f.answer() != null ? f.answer().usage() : null;
    String status = cause == null ? "succeeded" : "failed";
    Kamon.counter("agent.requests").withTag("agent_id", agent).withTag("tenant", tenantId).withTag("status", status)
        .increment();
    Kamon.timer("agent.processing").withTag("agent_id", agent).record(Math.max(0, nanos));
    if (cause != null) {
      String code = cause instanceof AgentFailure f && f.answer() != null && f.answer().errorCode() != null
          ? f.answer().errorCode()
          : cause instanceof StepFailure s ? s.code() : "INTERNAL";
      Kamon.counter("agent.errors").withTag("agent_id", agent).withTag("tenant", tenantId).withTag("code", code)
          .increment();
    }
    if (usage != null) {
      Kamon.counter("agent.tokens.used").withTag("agent_id", agent).withTag("tenant", tenantId)
          .increment(usage.tokensIn() + usage.tokensOut());
    }
  }
}
