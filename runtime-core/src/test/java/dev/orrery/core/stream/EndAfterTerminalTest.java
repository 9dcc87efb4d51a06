package dev.orrery.core.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;
import org.apache.pekko.stream.typed.javadsl.ActorSink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** A run's stream delivers its terminal event at once and closes a moment later. */
class EndAfterTerminalTest {
  private static final ActorTestKit kit = ActorTestKit.create();
  private static final String ENDED = "ended";

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static RunUpdate event(long seq, String type) {
    return new RunUpdate(seq, type, 2, "run-1", null, Instant.now(), null, null);
  }

  private static SourceQueueWithComplete<RunUpdate> stream(Duration delay, TestProbe<Object> probe) {
    return Source.<RunUpdate>queue(16, OverflowStrategy.fail())
        .via(new EndAfterTerminal(delay))
        .<Object>map(u -> u)
        .to(ActorSink.<Object>actorRef(probe.ref(), ENDED, failure -> failure))
        .run(kit.system());
  }

  @Test
  void theTerminalEventGoesOutAtOnceAndTheStreamEndsAfterTheDelay() {
    TestProbe<Object> probe = kit.createTestProbe();
    Duration delay = Duration.ofMillis(700);
    SourceQueueWithComplete<RunUpdate> queue = stream(delay, probe);
    RunUpdate step = event(5, "StepSucceeded");
    RunUpdate end = event(6, "RunCompleted");
    queue.offer(step);
    queue.offer(end);
    assertEquals(step, probe.receiveMessage());
    assertEquals(end, probe.receiveMessage(Duration.ofMillis(500)), "the terminal event does not wait for the delay");
    long delivered = System.nanoTime();
    // Whatever follows the end (a position, a late copy) is dropped, and the stream stays open meanwhile.
    queue.offer(event(7, "RunCompleted"));
    queue.complete(); // the upstream ending does not end the stream before the delay either
    assertEquals(ENDED, probe.receiveMessage(Duration.ofSeconds(5)));
    long ended = System.nanoTime();
    assertTrue(ended - delivered >= delay.toNanos() - Duration.ofMillis(50).toNanos(),
        "ended " + Duration.ofNanos(ended - delivered).toMillis() + " ms after the terminal event");
  }

  @Test
  void aStreamWhoseUpstreamEndsBeforeAnyTerminalEventEndsAtOnce() {
    TestProbe<Object> probe = kit.createTestProbe();
    SourceQueueWithComplete<RunUpdate> queue = stream(Duration.ofSeconds(30), probe);
    RunUpdate step = event(2, "StepScheduled");
    queue.offer(step);
    assertEquals(step, probe.receiveMessage());
    queue.complete();
    assertEquals(ENDED, probe.receiveMessage(Duration.ofSeconds(5)));
  }

  @Test
  void noDelayEndsWithTheTerminalEvent() {
    TestProbe<Object> probe = kit.createTestProbe();
    SourceQueueWithComplete<RunUpdate> queue = stream(Duration.ZERO, probe);
    RunUpdate end = event(3, "RunFailed");
    queue.offer(end);
    assertEquals(end, probe.receiveMessage());
    assertEquals(ENDED, probe.receiveMessage(Duration.ofSeconds(2)));
  }
}
