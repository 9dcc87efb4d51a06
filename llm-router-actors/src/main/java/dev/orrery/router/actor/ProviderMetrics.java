package dev.orrery.router.actor;

import dev.orrery.core.Instrumentation;
import dev.orrery.router.provider.ProviderException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import kamon.Kamon;
import kamon.metric.Counter;
import kamon.metric.Gauge;
import kamon.metric.Timer;

/**
 * One provider endpoint's calls as metrics, by provider and model: {@code llm_requests_total{provider,
 * model,status}} and {@code llm_latency_seconds} per attempt, {@code llm_errors_total{provider,model,kind}},
 * {@code llm_rate_limited_total} and {@code llm_retry_after_seconds_total} for 429s, and
 * {@code llm_circuit_state{provider}} (0 closed, 1 half-open, 2 open, 3 forced open, 4 disabled or
 * metrics-only). Providers and models come from configuration, so the labels stay bounded.
 */
final class ProviderMetrics {
  private final String provider;
  private final Gauge circuit;
  // Resolved once per model (and status or kind): an actor records every attempt of its provider.
  private final Map<String, Counter> requests = new HashMap<>();
  private final Map<String, Timer> latencies = new HashMap<>();

  ProviderMetrics(String provider) {
    this.provider = provider;
    this.circuit = Kamon.gauge("llm.circuit.state").withTag("provider", provider);
    circuit.update(0);
  }

  void succeeded(String model, long latencyNanos) {
    if (!Instrumentation.enabled()) return;
    request(model, "succeeded").increment();
    latency(model).record(latencyNanos);
  }

  private Counter request(String model, String status) {
    return requests.computeIfAbsent(model + "/" + status, k -> Kamon.counter("llm.requests")
        .withTag("provider", provider).withTag("model", model).withTag("status", status));
  }

  private Timer latency(String model) {
    return latencies.computeIfAbsent(model, k -> Kamon.timer("llm.latency").withTag("provider", provider)
        .withTag("model", model));
  }

  void failed(String model, long latencyNanos, ProviderException error) {
    if (!Instrumentation.enabled()) return;
    request(model, "failed").increment();
    Kamon.counter("llm.errors").withTag("provider", provider).withTag("model", model)
        .withTag("kind", error.kind().name()).increment();
    latency(model).record(latencyNanos);
    if (error.kind() == ProviderException.Kind.RATE_LIMITED) {
      Kamon.counter("llm.rate-limited").withTag("provider", provider).increment();
      Duration wait = error.retryAfter();
      if (wait != null) Kamon.counter("llm.retry-after.seconds").withTag("provider", provider).increment(wait.toSeconds());
    }
  }

  void circuit(CircuitBreaker.State state) {
    circuit.update(switch (state) {
      case CLOSED -> 0;
      case HALF_OPEN -> 1;
      case OPEN -> 2;
      case FORCED_OPEN -> 3;
      default -> 4;
    });
  }
}
