package dev.orrery.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The fence's decisions on a clock the test moves (the end-to-end check, a node process frozen with
 * SIGSTOP, is {@code multinode.SplitBrainTest}).
 */
class PauseFenceTest {
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final PauseFence fence = new PauseFence(now::get);
  private final List<Duration> breaches = new ArrayList<>();

  PauseFenceTest() {
    fence.arm(Duration.ofSeconds(6), breaches::add);
  }

  private void advance(Duration d) {
    now.addAndGet(d.toNanos());
  }

  @Test
  void aPauseShorterThanTheDowningTimeHoldsNothing() {
    advance(Duration.ofMillis(100));
    fence.tick();
    assertTrue(fence.allowsWrites(), "ticking normally");
    advance(Duration.ofSeconds(4));
    assertTrue(fence.allowsWrites(), "frozen past the failure detector, but nobody can have taken the runs yet");
    fence.tick();
    assertTrue(fence.allowsWrites());
    assertEquals(List.of(), breaches);
  }

  @Test
  void aWriteRightAfterALongFreezeIsRefusedBeforeTheTickerHasRun() {
    advance(Duration.ofMillis(100));
    fence.tick();
    advance(Duration.ofSeconds(6));
    assertFalse(fence.allowsWrites(), "frozen long enough to be downed, ticker not run yet");
    assertEquals(List.of(), breaches, "the ticker has not seen it yet");
  }

  @Test
  void aPauseLongEnoughToBeDownedClosesTheFenceForGood() {
    advance(Duration.ofSeconds(7));
    assertFalse(fence.allowsWrites());
    fence.tick();
    assertTrue(fence.closed());
    assertEquals(List.of(Duration.ofSeconds(7)), breaches, "the node was told to down itself once");
    advance(Duration.ofMillis(100));
    fence.tick();
    assertFalse(fence.allowsWrites(), "closed for good, however fresh the ticks");
    assertEquals(1, breaches.size());
  }
}
