package dev.orrery.router.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The bucket on a clock the test moves (nanoseconds). */
class TokenBucketTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void refillsContinuouslyUpToItsBurst() {
    var bucket = new TokenBucket(600, Duration.ofSeconds(1), 0); // 10/s, holds 10
    for (int i = 0; i < 10; i++) assertTrue(bucket.tryTake(1, 0));
    assertFalse(bucket.tryTake(1, 0));
    assertFalse(bucket.tryTake(1, SECOND / 20), "half a token after 50 ms");
    assertTrue(bucket.tryTake(1, SECOND / 10), "one token after 100 ms");
    assertEquals(Duration.ofMillis(100), bucket.waitFor(1, SECOND / 10));
  }

  @Test
  void itsLevelIsWhatIsLeftToTakeNeverBelowZero() {
    var bucket = new TokenBucket(600, Duration.ofSeconds(1), 0); // 10/s, holds 10
    assertEquals(10.0, bucket.capacity());
    assertEquals(10.0, bucket.level(0));
    bucket.tryTake(4, 0);
    assertEquals(6.0, bucket.level(0));
    assertEquals(8.0, bucket.level(SECOND / 5), "two tokens refilled in 200 ms");
    bucket.blockUntil(SECOND, SECOND / 5);
    assertEquals(0.0, bucket.level(SECOND / 2), "blocked: nothing to take");
    assertEquals(5.0, bucket.level(3 * SECOND / 2), 1e-9, "refilling from the block's end");
  }

  @Test
  void aRetryAfterBlocksAndEmptiesTheBucket() {
    var bucket = new TokenBucket(600, Duration.ofSeconds(1), 0);
    bucket.blockUntil(2 * SECOND, 0);
    assertFalse(bucket.tryTake(1, SECOND));
    assertEquals(Duration.ofMillis(1100), bucket.waitFor(1, SECOND), "the block, then one token's refill");
    assertFalse(bucket.tryTake(1, 2 * SECOND), "refilling starts when the block ends");
    assertTrue(bucket.tryTake(1, 2 * SECOND + SECOND / 10));
  }

  @Test
  void anUnlimitedBucketStillHonoursABlock() {
    var bucket = new TokenBucket(0, Duration.ofSeconds(1), 0);
    assertTrue(bucket.tryTake(1_000_000, 0));
    bucket.blockUntil(SECOND, 0);
    assertFalse(bucket.tryTake(1, SECOND / 2));
    assertTrue(bucket.tryTake(1, SECOND));
  }

  @Test
  void aCallLargerThanTheBucketPassesWhenFullAndLeavesDebt() {
    var bucket = new TokenBucket(6000, Duration.ofSeconds(1), 0); // 100 tokens/s, holds 100
    assertTrue(bucket.tryTake(250, 0));
    assertFalse(bucket.tryTake(1, SECOND), "150 of debt is repaid after 1.5 s");
    assertTrue(bucket.tryTake(1, 2 * SECOND));
  }

  @Test
  void aSmallerShareShrinksTheBucketAtOnce() {
    var bucket = new TokenBucket(600, Duration.ofSeconds(1), 0);
    bucket.resize(300, 0);
    for (int i = 0; i < 5; i++) assertTrue(bucket.tryTake(1, 0));
    assertFalse(bucket.tryTake(1, 0));
  }
}
