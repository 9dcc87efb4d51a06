package dev.orrery.cluster.multinode;

import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;

/** Retries an assertion until it holds (the testkit's awaitAssert) for tests whose nodes are other processes. */
final class Eventually {
  private static final ActorTestKit KIT = ActorTestKit.create("eventually");

  private Eventually() {}

  static void within(Duration max, Runnable check) {
    KIT.createTestProbe().awaitAssert(max, Duration.ofMillis(100), () -> {
      check.run();
      return null;
    });
  }
}
