package dev.orrery.edge.auth;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Per-key request limits in fixed windows (by default 100 requests per minute), with what the
 * {@code X-RateLimit-*} and {@code Retry-After} headers need. A key's window opens at its first request and
 * a new one at the first request after it ends, as GitHub's API does.
 *
 * <p>Not Resilience4j's {@code AtomicRateLimiter}: it reads {@code System.nanoTime()}, so tests could only
 * wait for a window to roll over, and its metrics say nothing about when the current cycle ends while permits
 * remain ({@code getNanosToWait()} is then 0), so {@code X-RateLimit-Reset} could not be computed.
 *
 * <p>Memory: a window that has ended means the same as no window, so such entries are swept once per window.
 * The map thus holds at most the keys seen in the last two windows; call {@link #acquire} only with the id
 * of an authenticated key so a client cannot grow it by inventing ids.
 */
public final class KeyRateLimiter {

  /**
   * The verdict on one request.
   *
   * @param resetEpochSeconds when the key's current window ends, in Unix epoch seconds (GitHub's convention
   *     for {@code X-RateLimit-Reset}), rounded up
   * @param retryAfterSeconds 0 when allowed; otherwise seconds until the window ends, at least 1
   */
  public record Decision(boolean allowed, int limit, int remaining, long resetEpochSeconds, long retryAfterSeconds) {

    /** The response headers, in order; {@code Retry-After} only on a refusal. */
    public Map<String, String> headers() {
      Map<String, String> h = new LinkedHashMap<>();
      h.put("X-RateLimit-Limit", Integer.toString(limit));
      h.put("X-RateLimit-Remaining", Integer.toString(remaining));
      h.put("X-RateLimit-Reset", Long.toString(resetEpochSeconds));
      if (!allowed) h.put("Retry-After", Long.toString(retryAfterSeconds));
      return h;
    }
  }

  /** Requests counted in the window opened at {@code startMillis}; capped at limit + 1 so it cannot overflow. */
  private record Window(long startMillis, int used) {}

  private final int limit;
  private final long windowMillis;
  private final Clock clock;
  private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();
  private final AtomicLong nextSweepMillis;

  public KeyRateLimiter(int limit, Duration window, Clock clock) {
    if (limit <= 0) throw new IllegalArgumentException("limit must be > 0, was " + limit);
    if (window == null || window.toMillis() < 1000) {
      throw new IllegalArgumentException("window must be at least 1s, was " + window);
    }
    this.limit = limit;
    this.windowMillis = window.toMillis();
    this.clock = clock;
    this.nextSweepMillis = new AtomicLong(clock.millis() + windowMillis);
  }

  /** {@code orrery.auth.rate-limit.requests-per-minute} requests per one-minute window. */
  public static KeyRateLimiter perMinute(AuthSettings settings, Clock clock) {
    return new KeyRateLimiter(settings.requestsPerMinute(), Duration.ofMinutes(1), clock);
  }

  /** Counts a request of the key and says whether it may proceed; refused requests are not served. */
  public Decision acquire(String keyId) {
    long now = clock.millis();
    sweepIfDue(now);
    // compute() is atomic per key, so concurrent requests of one key never both take the last permit.
    Window w = windows.compute(keyId, (k, old) -> old == null || now >= end(old)
        ? new Window(now, 1)
        : new Window(old.startMillis(), Math.min(old.used() + 1, limit + 1)));
    boolean allowed = w.used() <= limit;
    long end = end(w);
    long resetEpochSeconds = Math.floorDiv(end + 999, 1000);
    long retryAfter = allowed ? 0 : Math.max(1, Math.floorDiv(end - now + 999, 1000));
    return new Decision(allowed, limit, Math.max(0, limit - w.used()), resetEpochSeconds, retryAfter);
  }

  /** How many keys currently hold a window; for tests of the memory bound. */
  int trackedKeys() {
    return windows.size();
  }

  private long end(Window w) {
    return w.startMillis() + windowMillis;
  }

  private void sweepIfDue(long now) {
    long due = nextSweepMillis.get();
    // One caller per window wins the CAS and sweeps; the others carry on without waiting.
    if (now < due || !nextSweepMillis.compareAndSet(due, now + windowMillis)) return;
    // remove(key, value) leaves a window alone if a request has just replaced it with a fresh one.
    windows.forEach((key, w) -> {
      if (now >= end(w)) windows.remove(key, w);
    });
  }
}
