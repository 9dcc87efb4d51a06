package dev.orrery.router.actor;

import com.typesafe.config.Config;
import dev.orrery.router.provider.ProviderException;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.time.Clock;
import java.time.Duration;

/**
 * A provider's circuit breaker, read once from a provider entry's {@code breaker} block.
 *
 * @param failureRateThreshold percentage of failed calls in the window that opens the circuit
 * @param slowCallDuration a call at least this long counts as slow
 * @param slowCallRateThreshold percentage of slow calls in the window that opens the circuit
 * @param minimumCalls calls the window needs before either rate is judged
 * @param slidingWindow how many of the latest calls the rates are computed over
 * @param waitInOpen how long an open circuit refuses calls before half-open probes
 * @param halfOpenCalls probes let through when half-open; their outcome closes or re-opens the circuit
 */
public record BreakerSettings(
    float failureRateThreshold,
    Duration slowCallDuration,
    float slowCallRateThreshold,
    int minimumCalls,
    int slidingWindow,
    Duration waitInOpen,
    int halfOpenCalls) {

  public BreakerSettings {
    if (failureRateThreshold <= 0 || failureRateThreshold > 100) {
      throw new IllegalArgumentException("failure-rate-threshold must be within (0, 100], was " + failureRateThreshold);
    }
    if (slowCallRateThreshold <= 0 || slowCallRateThreshold > 100) {
      throw new IllegalArgumentException(
          "slow-call-rate-threshold must be within (0, 100], was " + slowCallRateThreshold);
    }
    positive("slow-call-duration", slowCallDuration);
    positive("wait-in-open", waitInOpen);
    if (slidingWindow <= 0) throw new IllegalArgumentException("sliding-window must be > 0, was " + slidingWindow);
    if (minimumCalls <= 0 || minimumCalls > slidingWindow) {
      throw new IllegalArgumentException(
          "minimum-calls must be within 1 .. sliding-window (" + slidingWindow + "), was " + minimumCalls);
    }
    if (halfOpenCalls <= 0) throw new IllegalArgumentException("half-open-calls must be > 0, was " + halfOpenCalls);
  }

  public static BreakerSettings fromConfig(Config c) {
    return new BreakerSettings(
        (float) c.getDouble("failure-rate-threshold"),
        c.getDuration("slow-call-duration"),
        (float) c.getDouble("slow-call-rate-threshold"),
        c.getInt("minimum-calls"),
        c.getInt("sliding-window"),
        c.getDuration("wait-in-open"),
        c.getInt("half-open-calls"));
  }

  /**
   * Resilience4j's configuration. Client errors and 429s are ignored by the breaker: the first is the
   * request's fault and the second is the buckets' business, and neither says the endpoint is down.
   */
  CircuitBreakerConfig toResilience4j(Clock clock) {
    return CircuitBreakerConfig.custom()
        .failureRateThreshold(failureRateThreshold)
        .slowCallDurationThreshold(slowCallDuration)
        .slowCallRateThreshold(slowCallRateThreshold)
        .minimumNumberOfCalls(minimumCalls)
        .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
        .slidingWindowSize(slidingWindow)
        .waitDurationInOpenState(waitInOpen)
        .permittedNumberOfCallsInHalfOpenState(halfOpenCalls)
        .ignoreException(BreakerSettings::notTheEndpointsFault)
        .clock(clock)
        .build();
  }

  private static boolean notTheEndpointsFault(Throwable e) {
    if (!(e instanceof ProviderException p)) return false;
    // UNAVAILABLE is our own refusal (an open circuit, a full local pool), never the endpoint's answer.
    return p.kind() == ProviderException.Kind.CLIENT_ERROR || p.kind() == ProviderException.Kind.RATE_LIMITED
        || p.kind() == ProviderException.Kind.UNAVAILABLE;
  }

  static void positive(String key, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) throw new IllegalArgumentException(key + " must be > 0, was " + d);
  }
}
