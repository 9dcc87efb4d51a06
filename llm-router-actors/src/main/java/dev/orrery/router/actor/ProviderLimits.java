package dev.orrery.router.actor;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * What a provider actor enforces for one endpoint, read once from a provider entry (merged over
 * {@code orrery.llm.provider-defaults}).
 *
 * @param requestsPerMinute the endpoint's cluster-wide request limit; 0 = no local limit (the
 *     provider's own 429s and their Retry-After still hold us back)
 * @param tokensPerMinute the endpoint's cluster-wide token limit (prompt + completion); 0 = none
 * @param rateBurst how much of the per-minute limit a bucket holds: a full minute's worth at once would
 *     itself be refused, since providers enforce per-minute limits over shorter periods
 * @param concurrency calls in flight at the adapter at once
 * @param queueSize calls admitted and waiting for a concurrency slot; a full queue makes callers wait
 * @param maxWaiting callers that may wait for room in the queue before new ones are told UNAVAILABLE: a
 *     guard for the heap, far above what steps and the edge's quotas let in
 * @param requestTimeout one attempt's timeout (capped by what is left of the caller's deadline)
 * @param maxRetries attempts after the first on a retryable failure
 * @param retryBackoff base of the exponential backoff; attempt n waits a random time in
 *     [0, retryBackoff·2^(n-1)] (full jitter), at least a 429's Retry-After
 */
public record ProviderLimits(
    int requestsPerMinute,
    long tokensPerMinute,
    Duration rateBurst,
    int concurrency,
    int queueSize,
    int maxWaiting,
    Duration requestTimeout,
    int maxRetries,
    Duration retryBackoff,
    BreakerSettings breaker) {

  public ProviderLimits {
    if (requestsPerMinute < 0) {
      throw new IllegalArgumentException("requests-per-minute must be >= 0 (0 = no limit), was " + requestsPerMinute);
    }
    if (tokensPerMinute < 0) {
      throw new IllegalArgumentException("tokens-per-minute must be >= 0 (0 = no limit), was " + tokensPerMinute);
    }
    BreakerSettings.positive("rate-burst", rateBurst);
    if (concurrency <= 0) throw new IllegalArgumentException("concurrency must be > 0, was " + concurrency);
    if (queueSize <= 0) throw new IllegalArgumentException("queue-size must be > 0, was " + queueSize);
    if (maxWaiting < 0) throw new IllegalArgumentException("max-waiting must be >= 0, was " + maxWaiting);
    BreakerSettings.positive("request-timeout", requestTimeout);
    if (maxRetries < 0) throw new IllegalArgumentException("max-retries must be >= 0, was " + maxRetries);
    BreakerSettings.positive("retry-backoff", retryBackoff);
    if (breaker == null) throw new IllegalArgumentException("breaker settings are required");
  }

  /** @param c a provider entry with the defaults as fallback */
  public static ProviderLimits fromConfig(Config c) {
    return new ProviderLimits(
        c.getInt("requests-per-minute"),
        c.getLong("tokens-per-minute"),
        c.getDuration("rate-burst"),
        c.getInt("concurrency"),
        c.getInt("queue-size"),
        c.getInt("max-waiting"),
        c.getDuration("request-timeout"),
        c.getInt("max-retries"),
        c.getDuration("retry-backoff"),
        BreakerSettings.fromConfig(c.getConfig("breaker")));
  }
}
