package dev.orrery.router.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.DeltaSink;
import dev.orrery.router.provider.ProviderCall;
import dev.orrery.router.provider.ProviderException;
import dev.orrery.router.provider.ProviderException.Kind;
import dev.orrery.router.provider.ProviderResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** One provider actor in front of a scripted adapter: its queue, buckets, retries and timeouts. */
class ProviderActorTest {
  private static final ActorTestKit kit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static ActorRef<ProviderActor.Command> spawn(String name, String limits, ScriptedAdapter adapter) {
    return kit.spawn(ProviderActor.create(new ProviderActor.Setup(name, Limits.of(limits), adapter,
        new ProviderStats(), Clock.systemUTC(), tenant -> 1, false)));
  }

  private static ProviderCall call(String prompt, DeltaSink sink) {
    return new ProviderCall("m1", List.of(ChatMessage.user(prompt)), 16, null, null, List.of(), sink,
        Duration.ofSeconds(30));
  }

  private static CompletableFuture<ProviderActor.Reply> submit(
      ActorRef<ProviderActor.Command> actor, String tenant, String prompt, Duration deadline) {
    return submit(actor, tenant, call(prompt, null), deadline);
  }

  private static CompletableFuture<ProviderActor.Reply> submit(
      ActorRef<ProviderActor.Command> actor, String tenant, ProviderCall call, Duration deadline) {
    Instant until = Instant.now().plus(deadline);
    return AskPattern.<ProviderActor.Command, ProviderActor.Reply>ask(actor,
        replyTo -> new ProviderActor.Submit(tenant, call, until, replyTo), deadline.plusSeconds(10), kit.scheduler())
        .toCompletableFuture();
  }

  private static ProviderActor.Status status(ActorRef<ProviderActor.Command> actor) throws Exception {
    return AskPattern.<ProviderActor.Command, ProviderActor.Status>ask(actor, ProviderActor.GetStatus::new,
        Duration.ofSeconds(5), kit.scheduler()).toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  private static ProviderActor.Reply await(CompletableFuture<ProviderActor.Reply> reply) throws Exception {
    return reply.get(30, TimeUnit.SECONDS);
  }

  @Test
  void rateLimitedProviderIsNotCalledAgainBeforeRetryAfter() throws Exception {
    var adapter = new ScriptedAdapter("limited", null);
    ScriptedAdapter.Script ok = adapter.answers();
    Duration retryAfter = Duration.ofMillis(400);
    adapter.script((call, n) -> n == 1
        ? CompletableFuture.failedFuture(new ProviderException("limited", Kind.RATE_LIMITED, 429, retryAfter, "slow down", null))
        : ok.answer(call, n));
    var actor = spawn("limited", "max-retries = 2, retry-backoff = 10ms", adapter);

    CompletableFuture<ProviderActor.Reply> first = submit(actor, "t", "first", Duration.ofSeconds(10));
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      try {
        assertEquals(1, status(actor).backingOff(), "the 429 is being waited out");
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      return null;
    });
    // While the provider's Retry-After runs, a new caller is told at once to go elsewhere.
    ProviderActor.Reply second = await(submit(actor, "t", "second", Duration.ofSeconds(10)));
    ProviderException refused = assertInstanceOf(ProviderActor.Failed.class, second).error();
    assertEquals(Kind.UNAVAILABLE, refused.kind());
    assertEquals(1, adapter.calls(), "nothing was sent during the Retry-After");

    ProviderActor.Served served = assertInstanceOf(ProviderActor.Served.class, await(first));
    assertEquals(2, served.attempts());
    List<Long> at = adapter.callNanos();
    long gapMs = TimeUnit.NANOSECONDS.toMillis(at.get(1) - at.get(0));
    assertTrue(gapMs >= retryAfter.toMillis(), "the retry came " + gapMs + " ms after the 429, before Retry-After");
  }

  @Test
  void requestBucketHoldsProviderWithinItsLimit() throws Exception {
    var adapter = ScriptedAdapter.answering("bucketed");
    // 600/min = 10/s; a burst of 100 ms holds one request.
    var actor = spawn("bucketed", "requests-per-minute = 600, rate-burst = 100ms, max-retries = 0", adapter);
    long start = System.nanoTime();
    long window = TimeUnit.SECONDS.toNanos(1);
    int served = 0;
    int refused = 0;
    while (System.nanoTime() - start < window) {
      ProviderActor.Reply reply = await(submit(actor, "t", "x", Duration.ofSeconds(5)));
      if (reply instanceof ProviderActor.Served) {
        served++;
      } else {
        assertEquals(Kind.UNAVAILABLE, ((ProviderActor.Failed) reply).error().kind());
        refused++;
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf("requests/min bucket: %d served, %d refused at once in %.2f s (limit 10/s + burst 1)%n",
        served, refused, seconds);
    assertTrue(served <= Math.ceil(10 * seconds) + 1, "served " + served + " in " + seconds + " s, over the limit");
    assertTrue(served >= 8, "served only " + served + ": the bucket should pass about 10 a second");
    assertTrue(refused > 0, "callers beyond the limit were told at once");
  }

  @Test
  void tenThousandCallsThroughAQueueOfAHundredAllComplete() throws Exception {
    var adapter = ScriptedAdapter.answering("busy");
    adapter.script(adapter.async(kit.system()));
    var actor = spawn("busy", "queue-size = 100, concurrency = 8, max-retries = 0", adapter);
    int n = 10_000;
    long start = System.nanoTime();
    List<CompletableFuture<ProviderActor.Reply>> replies = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      replies.add(submit(actor, "tenant-" + (i % 7), "call " + i, Duration.ofSeconds(60)));
    }
    CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    double seconds = (System.nanoTime() - start) / 1e9;
    int served = 0;
    for (CompletableFuture<ProviderActor.Reply> r : replies) {
      if (r.join() instanceof ProviderActor.Served) served++;
    }
    ProviderActor.Status s = status(actor);
    System.out.printf("backpressure: %d of %d served in %.2f s; queue high-water %d (size 100), "
        + "waiting high-water %d, adapter in flight at most %d (limit 8)%n",
        served, n, seconds, s.maxQueued(), s.maxWaiting(), adapter.maxInFlight());
    assertEquals(n, served, "every call completes: none dropped");
    assertEquals(n, adapter.calls());
    assertTrue(adapter.maxInFlight() <= 8, "concurrency limit held: " + adapter.maxInFlight());
    assertTrue(s.maxQueued() <= 100, "the queue never held more than its size: " + s.maxQueued());
    assertTrue(s.maxWaiting() > 0, "callers did wait: backpressure happened");
    assertTrue(s.maxQueued() + s.maxWaiting() <= n);
    assertEquals(0, s.queued() + s.waiting() + s.inFlight(), "nothing left behind");
  }

  @Test
  void aSingleCallOfOneTenantIsNotStarvedByAnotherTenantsBurst() throws Exception {
    var adapter = ScriptedAdapter.answering("shared");
    adapter.script(adapter.hold());
    var actor = spawn("shared", "queue-size = 100, concurrency = 2, max-retries = 0", adapter);
    List<CompletableFuture<ProviderActor.Reply>> burst = new ArrayList<>();
    for (int i = 0; i < 2000; i++) burst.add(submit(actor, "A", "A" + i, Duration.ofSeconds(60)));
    CompletableFuture<ProviderActor.Reply> single = submit(actor, "B", "B", Duration.ofSeconds(60));
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
      try {
        ProviderActor.Status s = status(actor);
        assertEquals(2, s.inFlight());
        assertEquals(100, s.queued());
        assertEquals(1899, s.waiting(), "A's other calls and B's wait for room");
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      return null;
    });
    // Serve one call at a time, oldest first, until B's reaches the provider.
    List<String> sentAfterB = new ArrayList<>();
    ArrayList<ScriptedAdapter.Held> inFlight = new ArrayList<>();
    adapter.held().drainTo(inFlight);
    assertEquals(2, inFlight.size());
    ScriptedAdapter.Held b = null;
    while (b == null) {
      ScriptedAdapter.Held oldest = inFlight.remove(0);
      oldest.answer().complete(adapter.response(oldest.call()));
      ScriptedAdapter.Held next = adapter.held().poll(5, TimeUnit.SECONDS);
      assertNotNull(next, "a completed call frees a slot for the next");
      if (next.prompt().equals("B")) b = next; else sentAfterB.add(next.prompt());
      inFlight.add(next);
      assertTrue(sentAfterB.size() <= 10, "B is still waiting after " + sentAfterB);
    }
    b.answer().complete(adapter.response(b.call()));
    assertInstanceOf(ProviderActor.Served.class, await(single));
    System.out.printf("fairness: with 2,000 calls of A queued, B's call was sent after %d more of A's %s "
        + "(FIFO would send it after 1,998)%n", sentAfterB.size(), sentAfterB);
    assertTrue(sentAfterB.size() <= 4, "B waited for " + sentAfterB);
    for (ScriptedAdapter.Held h : inFlight) h.answer().complete(adapter.response(h.call()));
    actor.tell(ProviderActor.Stop.INSTANCE);
    for (CompletableFuture<ProviderActor.Reply> r : burst) assertNotNull(await(r), "stopping answers the rest");
  }

  @Test
  void membersShareTheLimits() throws Exception {
    var actor = spawn("shared-limit", "requests-per-minute = 600, tokens-per-minute = 60000",
        ScriptedAdapter.answering("shared-limit"));
    assertEquals(600, status(actor).requestsPerMinute(), 1e-9);
    actor.tell(new ProviderActor.MembersChanged(2));
    ProviderActor.Status two = status(actor);
    assertEquals(2, two.members());
    assertEquals(300, two.requestsPerMinute(), 1e-9);
    assertEquals(30000, two.tokensPerMinute(), 1e-9);
    actor.tell(new ProviderActor.MembersChanged(1));
    assertEquals(600, status(actor).requestsPerMinute(), 1e-9);
  }

  @Test
  void anAttemptTimesOutAndIsRetriedWithinTheDeadline() throws Exception {
    var adapter = new ScriptedAdapter("hanging", ScriptedAdapter.silent());
    var actor = spawn("hanging", "request-timeout = 150ms, max-retries = 1, retry-backoff = 10ms", adapter);
    ProviderActor.Failed failed = assertInstanceOf(ProviderActor.Failed.class,
        await(submit(actor, "t", "x", Duration.ofSeconds(10))));
    assertEquals(Kind.TIMEOUT, failed.error().kind());
    assertEquals(2, failed.attempts());
    assertEquals(2, adapter.calls());
    for (ProviderCall c : adapter.seen()) assertEquals(Duration.ofMillis(150), c.timeout());
  }

  @Test
  void aCallWaitingForASlotToRetryIsAnsweredAtItsDeadline() throws Exception {
    // One slot. A's first attempt fails after 100 ms; by then B holds the slot and never finishes, so A's
    // retry finds no slot. The actor must answer A by A's deadline, not leave it to the caller's timeout.
    var adapter = new ScriptedAdapter("busy", null);
    adapter.script((call, n) -> {
      if (n > 1) return new CompletableFuture<>();
      var failed = new CompletableFuture<ProviderResponse>();
      kit.scheduler().scheduleOnce(Duration.ofMillis(100), () -> failed.completeExceptionally(
          new ProviderException("busy", Kind.SERVER_ERROR, 503, null, "scripted first failure", null)),
          kit.system().executionContext());
      return failed;
    });
    var actor = spawn("busy", "concurrency = 1, max-retries = 3, retry-backoff = 10ms, request-timeout = 60s",
        adapter);
    long start = System.nanoTime();
    CompletableFuture<ProviderActor.Reply> a = submit(actor, "t", "a", Duration.ofSeconds(1));
    submit(actor, "t", "b", Duration.ofSeconds(30));
    ProviderActor.Failed failed = assertInstanceOf(ProviderActor.Failed.class, a.get(5, TimeUnit.SECONDS));
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertEquals(Kind.TIMEOUT, failed.error().kind(), failed.error().getMessage());
    assertTrue(failed.error().getMessage().contains("free slot"), failed.error().getMessage());
    assertTrue(ms < 3000, "answered near its 1 s deadline, took " + ms + " ms");
  }

  @Test
  void theCallersDeadlineCapsTheAttempt() throws Exception {
    var adapter = new ScriptedAdapter("slow", ScriptedAdapter.silent());
    var actor = spawn("slow", "request-timeout = 60s, max-retries = 3", adapter);
    long start = System.nanoTime();
    ProviderActor.Failed failed = assertInstanceOf(ProviderActor.Failed.class,
        await(submit(actor, "t", "x", Duration.ofMillis(300))));
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertEquals(Kind.TIMEOUT, failed.error().kind());
    assertEquals(1, adapter.calls(), "no time was left for a retry");
    assertTrue(adapter.seen().get(0).timeout().compareTo(Duration.ofMillis(300)) <= 0);
    assertTrue(ms < 5000, "answered by the deadline, took " + ms + " ms");
  }

  @Test
  void deltasPassThroughAndABrokenStreamIsNotRepeated() throws Exception {
    var adapter = new ScriptedAdapter("streamer", null);
    adapter.script((c, n) -> {
      c.deltas().onDelta("Hel");
      c.deltas().onDelta("lo");
      return CompletableFuture.completedFuture(new ProviderResponse("Hello", List.of(), 3, 2, c.model(), "stop"));
    });
    var actor = spawn("streamer", "max-retries = 2, retry-backoff = 10ms", adapter);
    var deltas = new ConcurrentLinkedQueue<String>();
    ProviderActor.Served served = assertInstanceOf(ProviderActor.Served.class,
        await(submit(actor, "t", call("hi", deltas::add), Duration.ofSeconds(10))));
    assertEquals("Hello", String.join("", deltas));
    assertEquals(served.response().text(), String.join("", deltas));

    // Broken after a delta reached the caller: not retried (the caller would see "Hel" twice).
    adapter.script((c, n) -> {
      c.deltas().onDelta("Hel");
      return CompletableFuture.failedFuture(new ProviderException("streamer", Kind.STREAM_INTERRUPTED, 0, "cut"));
    });
    var partial = new ConcurrentLinkedQueue<String>();
    int before = adapter.calls();
    ProviderActor.Failed failed = assertInstanceOf(ProviderActor.Failed.class,
        await(submit(actor, "t", call("hi", partial::add), Duration.ofSeconds(10))));
    assertEquals(Kind.STREAM_INTERRUPTED, failed.error().kind());
    assertTrue(failed.deltasDelivered());
    assertEquals(before + 1, adapter.calls());
    assertEquals(List.of("Hel"), List.copyOf(partial));

    // Broken before any delta: retried like any other retryable failure.
    adapter.script((c, n) -> n == before + 2
        ? CompletableFuture.failedFuture(new ProviderException("streamer", Kind.STREAM_INTERRUPTED, 0, "cut"))
        : CompletableFuture.completedFuture(new ProviderResponse("ok", List.of(), 1, 1, c.model(), "stop")));
    ProviderActor.Served retried = assertInstanceOf(ProviderActor.Served.class,
        await(submit(actor, "t", call("hi", s -> { }), Duration.ofSeconds(10))));
    assertEquals(2, retried.attempts());
  }

  @Test
  void aClientErrorIsNotRetried() throws Exception {
    var adapter = new ScriptedAdapter("strict", null);
    adapter.script(adapter.failing(Kind.CLIENT_ERROR, 400, null));
    var actor = spawn("strict", "max-retries = 3, retry-backoff = 10ms", adapter);
    ProviderActor.Failed failed = assertInstanceOf(ProviderActor.Failed.class,
        await(submit(actor, "t", "x", Duration.ofSeconds(10))));
    assertEquals(Kind.CLIENT_ERROR, failed.error().kind());
    assertEquals(1, adapter.calls());
  }
}
