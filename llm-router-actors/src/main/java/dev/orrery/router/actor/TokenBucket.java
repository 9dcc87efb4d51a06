package dev.orrery.router.actor;

import java.time.Duration;

/**
 * A token bucket that refills continuously at a rate per minute, holding at most a burst's worth. It can
 * be blocked until an instant (a 429's Retry-After): blocked, it is empty and gives nothing. A rate of 0
 * means no limit, but a block still holds. Owned by one provider actor; not thread-safe. Times are
 * nanoseconds on the actor's clock.
 */
final class TokenBucket {
  private static final double NANOS_PER_MINUTE = 60e9;

  private final Duration burst;
  private double perMinute;
  private double capacity;
  private double tokens;
  private long refilledAt;
  private long blockedUntil = Long.MIN_VALUE;

  TokenBucket(double perMinute, Duration burst, long now) {
    this.burst = burst;
    this.refilledAt = now;
    resize(perMinute, now);
    this.tokens = capacity;
  }

  boolean unlimited() {
    return perMinute <= 0;
  }

  double perMinute() {
    return perMinute;
  }

  /**
   * A new share of the limit (membership changed). The bucket keeps what it holds, up to the new
   * capacity, so a shrinking share takes effect at once and a growing one fills at the new rate.
   */
  void resize(double newPerMinute, long now) {
    refill(now);
    perMinute = newPerMinute;
    // At least one token, so a small share can still pass one call at a time.
    capacity = newPerMinute <= 0 ? 0 : Math.max(1.0, newPerMinute * burst.toNanos() / NANOS_PER_MINUTE);
    tokens = Math.min(tokens, capacity);
  }

  /** Whether {@link #tryTake} would succeed now, without taking. */
  boolean available(double n, long now) {
    refill(now);
    if (now < blockedUntil) return false;
    return unlimited() || tokens >= Math.min(n, capacity);
  }

  /**
   * Takes n tokens if the bucket holds them. A call larger than the whole bucket passes when the bucket
   * is full and leaves it in debt, which refills before anything else passes: otherwise it could never
   * pass at all.
   */
  boolean tryTake(double n, long now) {
    if (!available(n, now)) return false;
    if (!unlimited()) tokens -= n;
    return true;
  }

  /** Gives tokens back (a reservation not used), or takes more (negative: a call cost more than estimated). */
  void give(double n) {
    if (!unlimited()) tokens = Math.min(capacity, tokens + n);
  }

  /** Empties the bucket until the instant: the provider said "not before then". */
  void blockUntil(long until, long now) {
    refill(now);
    blockedUntil = Math.max(blockedUntil, until);
    tokens = Math.min(tokens, 0);
  }

  /** What the bucket holds now (0 while blocked or in debt), for the gauges. */
  double level(long now) {
    refill(now);
    return now < blockedUntil ? 0 : Math.max(0, tokens);
  }

  /** The most it holds: a burst's worth of its rate (0 when unlimited). */
  double capacity() {
    return capacity;
  }

  long blockedUntil() {
    return blockedUntil;
  }

  /** How long until n tokens could be taken (0 when now), for retry delays and UNAVAILABLE's hint. */
  Duration waitFor(double n, long now) {
    refill(now);
    long wait = blockedUntil > now ? blockedUntil - now : 0; // no subtraction from MIN_VALUE: it would wrap
    if (!unlimited()) {
      double missing = Math.min(n, capacity) - tokens;
      // Refilling starts when the block ends, so the two waits add up.
      if (missing > 0) wait += (long) Math.ceil(missing * NANOS_PER_MINUTE / perMinute);
    }
    return Duration.ofNanos(wait);
  }

  /** Adds what accrued since the last refill, but nothing while blocked: a block empties the bucket. */
  private void refill(long now) {
    long from = Math.max(refilledAt, blockedUntil);
    if (now > from && !unlimited()) {
      tokens = Math.min(capacity, tokens + (now - from) * perMinute / NANOS_PER_MINUTE);
    }
    refilledAt = Math.max(refilledAt, now);
  }
}
