package dev.orrery.edge.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.edge.auth.KeyRateLimiter.Decision;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class KeyRateLimiterTest {

  private static final Instant T0 = Instant.parse("2025-03-01T12:00:00Z");

  private static KeyRateLimiter perMinute(MutableClock clock) {
    AuthSettings settings = new AuthSettings("0123456789abcdef0123456789abcdef", Optional.empty(), Optional.empty(),
        "orrery", Duration.ofMinutes(15), 100);
    return KeyRateLimiter.perMinute(settings, clock);
  }

  @Test
  void theHundredAndFirstRequestInAMinuteIsRefused() {
    MutableClock clock = new MutableClock(T0);
    KeyRateLimiter limiter = perMinute(clock);
    for (int i = 0; i < 100; i++) {
      assertTrue(limiter.acquire("k1").allowed(), "request " + (i + 1));
      clock.advance(Duration.ofMillis(500)); // 100 requests spread over 50 s, all inside the window
    }
    Decision refused = limiter.acquire("k1");
    assertFalse(refused.allowed());
    assertEquals(0, refused.remaining());
    assertEquals(100, refused.limit());
    assertEquals(10, refused.retryAfterSeconds()); // the window opened at T0 and ends at T0 + 60 s
    assertEquals("10", refused.headers().get("Retry-After"));
  }

  @Test
  void remainingCountsDownAndResetIsTheWindowsEndInEpochSeconds() {
    KeyRateLimiter limiter = perMinute(new MutableClock(T0));
    long reset = T0.plusSeconds(60).getEpochSecond();
    for (int expected = 99; expected >= 95; expected--) {
      Decision d = limiter.acquire("k1");
      assertTrue(d.allowed());
      assertEquals(expected, d.remaining());
      assertEquals(reset, d.resetEpochSeconds());
      assertEquals(0, d.retryAfterSeconds());
    }
    Map<String, String> headers = limiter.acquire("k1").headers();
    assertEquals(List.of("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"),
        List.copyOf(headers.keySet()));
    assertEquals("94", headers.get("X-RateLimit-Remaining"));
    assertEquals(Long.toString(reset), headers.get("X-RateLimit-Reset"));
  }

  @Test
  void keysAreLimitedIndependently() {
    KeyRateLimiter limiter = perMinute(new MutableClock(T0));
    for (int i = 0; i < 101; i++) limiter.acquire("busy");
    assertFalse(limiter.acquire("busy").allowed());
    Decision quiet = limiter.acquire("quiet");
    assertTrue(quiet.allowed());
    assertEquals(99, quiet.remaining());
  }

  @Test
  void aRefusedKeyIsServedAgainOnceItsWindowEnds() {
    MutableClock clock = new MutableClock(T0);
    KeyRateLimiter limiter = perMinute(clock);
    for (int i = 0; i < 100; i++) limiter.acquire("k1");
    clock.advance(Duration.ofMillis(59_500));
    Decision last = limiter.acquire("k1");
    assertFalse(last.allowed());
    assertEquals(1, last.retryAfterSeconds()); // half a second left rounds up, never down to 0
    clock.advance(Duration.ofMillis(500));
    Decision next = limiter.acquire("k1");
    assertTrue(next.allowed());
    assertEquals(99, next.remaining());
    assertEquals(T0.plusSeconds(120).getEpochSecond(), next.resetEpochSeconds());
  }

  @Test
  void endedWindowsAreForgottenSoManyKeysDoNotAccumulate() {
    MutableClock clock = new MutableClock(T0);
    KeyRateLimiter limiter = perMinute(clock);
    for (int i = 0; i < 10_000; i++) limiter.acquire("key-" + i);
    assertEquals(10_000, limiter.trackedKeys());
    clock.advance(Duration.ofMinutes(2));
    limiter.acquire("latest");
    assertEquals(1, limiter.trackedKeys());
  }

  @Test
  void concurrentRequestsOfOneKeyGetExactlyTheLimit() throws Exception {
    KeyRateLimiter limiter = perMinute(new MutableClock(T0));
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Callable<Boolean>> calls = new ArrayList<>();
      for (int i = 0; i < 400; i++) calls.add(() -> limiter.acquire("shared").allowed());
      int allowed = 0;
      for (Future<Boolean> f : pool.invokeAll(calls)) if (f.get()) allowed++;
      assertEquals(100, allowed);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void badLimitsAreRefusedNamingTheValue() {
    MutableClock clock = new MutableClock(T0);
    var limit = assertThrows(IllegalArgumentException.class, () -> new KeyRateLimiter(0, Duration.ofMinutes(1), clock));
    assertTrue(limit.getMessage().contains("was 0"), limit.getMessage());
    var window = assertThrows(IllegalArgumentException.class, () -> new KeyRateLimiter(1, Duration.ZERO, clock));
    assertTrue(window.getMessage().contains("was PT0S"), window.getMessage());
  }
}
