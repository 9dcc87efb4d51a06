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
 * metrics-only). Sampled by the actor ({@link #sampled}): {@code llm_queue_depth{provider}} (the calls it
 * holds that are not at the adapter: queued, parked for room in the queue, backing off before a retry),
 * {@code llm_calls_in_flight{provider}}, and for each limited bucket
 * {@code llm_bucket_level{provider,bucket}} and {@code llm_bucket_capacity{provider,bucket}} ({@code bucket}
 * requests or tokens: this node's share of requests-per-minute and tokens-per-minute, as what is left to
 * take and the most it holds). Providers and models come from configuration, so the labels stay bounded.
 */
final class ProviderMetrics {
  private final String provider;
  private final Gauge circuit;
  private final Gauge queueDepth;
  private final Gauge inFlight;
  // Resolved once per model (and status or kind): an actor records every attempt of its provider.
  private final Map<String, Counter> requests = new HashMap<>();
  private final Map<String, Timer> latencies = new HashMap<>();
  /** A bucket's gauges, resolved on its first sample; an unlimited bucket has none. */
  private final Map<String, BucketGauges> buckets = new HashMap<>();

  private record BucketGauges(Gauge level, Gauge capacity) {}

  ProviderMetrics(String provider) {
    this.provider = provider;
    this.circuit = Kamon.gauge("llm.circuit.state").withTag("provider", provider);
    circuit.update(0);
    this.queueDepth = Kamon.gauge("llm.queue.depth").withTag("provider", provider);
    this.inFlight = Kamon.gauge("llm.calls.in-flight").withTag("provider", provider);
  }

  /** What the actor holds, sampled on its own thread: its queue, its calls at the adapter and its buckets. */
  void sampled(int queued, int calls, TokenBucket requests, TokenBucket tokens, long now) {
    queueDepth.update(queued);
    inFlight.update(calls);
    sampled("requests", requests, now);
    sampled("tokens", tokens, now);
  }

  private void sampled(String bucket, TokenBucket b, long now) {
    if (b.unlimited()) return;
    BucketGauges gauges = buckets.computeIfAbsent(bucket, k -> new BucketGauges(
        Kamon.gauge("llm.bucket.level").withTag("provider", provider).withTag("bucket", bucket),
        Kamon.gauge("llm.bucket.capacity").withTag("provider", provider).withTag("bucket", bucket)));
    gauges.level().update(b.level(now));
    gauges.capacity().update(b.capacity());
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
