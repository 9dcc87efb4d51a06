package dev.orrery.core.workflow;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * How a failed step is tried again: at most {@code maxAttempts} attempts in all, waiting an exponentially
 * growing, jittered delay before each retry. Ranges are checked by {@link CompiledWorkflow#compile}, not
 * here, so that a workflow reports every problem at once.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RetryPolicy(
    @JsonProperty("max_attempts") int maxAttempts,
    @JsonProperty("backoff_ms") long backoffMs,
    @JsonProperty("max_backoff_ms") long maxBackoffMs,
    @JsonProperty("multiplier") double multiplier) {

  public static final int DEFAULT_MAX_ATTEMPTS = 3;
  public static final long DEFAULT_BACKOFF_MS = 200;
  public static final long DEFAULT_MAX_BACKOFF_MS = 10_000;
  public static final double DEFAULT_MULTIPLIER = 2.0;

  private static final RetryPolicy DEFAULTS =
      new RetryPolicy(DEFAULT_MAX_ATTEMPTS, DEFAULT_BACKOFF_MS, DEFAULT_MAX_BACKOFF_MS, DEFAULT_MULTIPLIER);

  public static RetryPolicy defaults() {
    return DEFAULTS;
  }

  /**
   * Jackson's way in: primitives would turn a missing field into 0, which must become the default while
   * an explicit 0 stays 0 (and is then reported as out of range where 0 is not allowed).
   */
  @JsonCreator
  static RetryPolicy fromJson(
      @JsonProperty("max_attempts") Integer maxAttempts,
      @JsonProperty("backoff_ms") Long backoffMs,
      @JsonProperty("max_backoff_ms") Long maxBackoffMs,
      @JsonProperty("multiplier") Double multiplier) {
    return new RetryPolicy(
        maxAttempts == null ? DEFAULT_MAX_ATTEMPTS : maxAttempts,
        backoffMs == null ? DEFAULT_BACKOFF_MS : backoffMs,
        maxBackoffMs == null ? DEFAULT_MAX_BACKOFF_MS : maxBackoffMs,
        multiplier == null ? DEFAULT_MULTIPLIER : multiplier);
  }

  /**
   * The delay before attempt {@code attempt} (the first retry is attempt 2):
   * {@code min(maxBackoffMs, backoffMs * multiplier^(attempt-2))}, of which half is fixed and half scaled
   * by {@code jitter01} ("equal jitter": many runs failing together do not retry together, and
   * {@code backoff_ms} still means a pause, which full jitter would let shrink to nothing). The caller draws the random
   * number so it can record the resulting delay in an event and replay it exactly.
   *
   * @param jitter01 a uniformly drawn number in [0, 1)
   * @return milliseconds to wait; 0 for the first attempt
   */
  public long backoffBeforeAttempt(int attempt, double jitter01) {
    if (!(jitter01 >= 0.0 && jitter01 < 1.0)) {
      throw new IllegalArgumentException("jitter must be in [0, 1), was " + jitter01);
    }
    if (attempt < 2 || backoffMs <= 0 || maxBackoffMs <= 0) return 0;
    // Doubles saturate at infinity instead of overflowing, and min() then brings the value back to the cap.
    double exponential = backoffMs * Math.pow(multiplier, attempt - 2);
    double capped = Math.min((double) maxBackoffMs, exponential);
    return (long) Math.floor(capped / 2 + capped / 2 * jitter01);
  }
}
