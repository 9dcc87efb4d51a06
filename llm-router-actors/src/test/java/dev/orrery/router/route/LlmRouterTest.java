package dev.orrery.router.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.LlmResult;
import dev.orrery.core.port.RouteDefinition;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.port.Usage;
import dev.orrery.router.actor.ScriptedAdapter;
import dev.orrery.router.provider.ProviderException.Kind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import dev.orrery.router.provider.ProviderException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The router as a step sees it, over provider actors in front of scripted adapters. */
class LlmRouterTest {
  private static final ActorTestKit kit = ActorTestKit.create();
  private static final AtomicInteger keys = new AtomicInteger();

  private final List<LlmRouter> started = new ArrayList<>();

  @AfterAll
  static void shutdown() {
    kit.shutdownTestKit();
  }

  @AfterEach
  void stopRouters() {
    started.forEach(LlmRouter::stop);
  }

  /** A router over the given adapters; {@code hocon} goes under {@code orrery.llm}. */
  private LlmRouter router(String hocon, ScriptedAdapter... adapters) {
    Map<String, ScriptedAdapter> byName = new HashMap<>();
    for (ScriptedAdapter a : adapters) byName.put(a.name(), a);
    var config = ConfigFactory.parseString("orrery.llm {" + hocon + "}").withFallback(ConfigFactory.load()).resolve();
    LlmRouter router = LlmRouter.start(kit.system(), config, Map.of(), (settings, system) -> byName.get(settings.name()));
    started.add(router);
    return router;
  }

  /** An endpoint entry named {@code name} serving one model {@code m-<name>}, plus any overrides. */
  private static String endpoint(String name, String extra) {
    return "{name = " + name + ", kind = openai, base-url = \"http://" + name + ".invalid/v1\", models = [{name = m-"
        + name + ", input-usd-per-million = 1, output-usd-per-million = 2}], max-retries = 0" + (extra.isEmpty() ? "" : ", " + extra) + "}";
  }

  private static LlmRequest request(String route, String model, String prompt) {
    return request("k" + keys.incrementAndGet(), "acme", route, model, prompt, null);
  }

  private static LlmRequest request(String key, String tenant, String route, String model, String prompt, Double temperature) {
    return new LlmRequest(key, tenant, route, model, List.of(ChatMessage.user(prompt)), 64, temperature, null,
        Duration.ofSeconds(10));
  }

  private static LlmResult call(LlmRouter router, LlmRequest request) throws Exception {
    return router.complete(request).toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static StepFailure failure(LlmRouter router, LlmRequest request) throws Exception {
    try {
      router.complete(request).toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return assertInstanceOf(StepFailure.class, e.getCause());
    }
    throw new AssertionError("expected a failure");
  }

  private static String breakerOf(LlmRouter router, String provider) throws Exception {
    return router.status(provider).toCompletableFuture().get(5, TimeUnit.SECONDS).breakerState();
  }

  @Test
  void aRoutesDefinitionListsItsCandidatesInPriorityOrderAsItsPolicyWouldPickThem() {
    String twoModels = "models = [{name = small, tier = 1, input-usd-per-million = 1, output-usd-per-million = 2},"
        + " {name = large, tier = 2, input-usd-per-million = 5, output-usd-per-million = 9}]";
    LlmRouter router = router("providers = [" + endpoint("a", twoModels) + ", " + endpoint("b", twoModels) + "]\n"
        + "routes { default {}\n cheap { policy = cost-aware, providers = [b, a] }\n"
        + " split { policy = weighted, weights { a = 3, b = 1 }, tier = 2 } }",
        ScriptedAdapter.answering("a"), ScriptedAdapter.answering("b"));

    RouteDefinition fallback = router.routeFor(null, null);
    assertEquals(new RouteDefinition("default", null, "fallback", 1, List.of(
        new RouteDefinition.Candidate("a", "small", null), new RouteDefinition.Candidate("b", "small", null))), fallback);
    assertSame(fallback, router.routeFor("default", null), "computed once per route");
    assertEquals(List.of("b/small", "b/large", "a/small", "a/large"), names(router.routeFor("cheap", null)),
        "cost-aware picks among every model of its tier per call, so all of them are candidates");
    RouteDefinition split = router.routeFor("split", null);
    assertEquals(List.of("a/large", "b/large"), names(split));
    assertEquals(3.0, split.candidates().get(0).weight());
    assertEquals(List.of("b/large", "a/large"), names(router.routeFor("cheap", "large")), "a pinned model");
    assertEquals(null, router.routeFor("missing", null));
    assertEquals(null, router.routeFor(null, "unheard-of"));
  }

  @Test
  void aCallPinnedToAnEarlierDefinitionOfItsRouteIsServedOverThatDefinition() throws Exception {
    var a = ScriptedAdapter.answering("a");
    var b = ScriptedAdapter.answering("b");
    LlmRouter router = router("providers = [" + endpoint("a", "") + ", " + endpoint("b", "") + "]", a, b);
    // When the run started, the default route was b alone; it is a then b now.
    RouteDefinition then = new RouteDefinition("default", null, "fallback", 1,
        List.of(new RouteDefinition.Candidate("b", "m-b", null)));

    assertEquals("a", call(router, request(null, null, "now")).provider());
    LlmResult pinned = call(router, request(null, null, "then").withPinnedRoute(then));
    assertEquals("b", pinned.provider());
    assertEquals(List.of("b"), pinned.tried(), "only the pinned candidates");
    assertEquals("a", call(router, request(null, null, "same").withPinnedRoute(router.routeFor(null, null))).provider(),
        "a pin equal to the route as configured is the route");
  }

  @Test
  void pinnedProvidersOrModelsThisNodeLacksAreLeftOutAndWithNoneLeftTheRouteAsConfiguredServes() throws Exception {
    var a = ScriptedAdapter.answering("a");
    var b = ScriptedAdapter.answering("b");
    LlmRouter router = router("providers = [" + endpoint("a", "") + ", " + endpoint("b", "") + "]", a, b);
    RouteDefinition partly = new RouteDefinition("default", null, "fallback", 1, List.of(
        new RouteDefinition.Candidate("retired", "m-retired", null), new RouteDefinition.Candidate("b", "m-b", null)));
    assertEquals(List.of("b"), call(router, request(null, null, "partly").withPinnedRoute(partly)).tried());

    RouteDefinition gone = new RouteDefinition("default", null, "fallback", 1, List.of(
        new RouteDefinition.Candidate("retired", "m-retired", null), new RouteDefinition.Candidate("b", "m-gone", null)));
    LlmResult served = call(router, request(null, null, "gone").withPinnedRoute(gone));
    assertEquals("a", served.provider(), "nothing pinned is here: the default route as configured");
  }

  private static List<String> names(RouteDefinition d) {
    return d.candidates().stream().map(c -> c.provider() + "/" + c.model()).toList();
  }

  @Test
  void circuitOpensAfterFailuresThenHalfOpenProbesCloseIt() throws Exception {
    var primary = ScriptedAdapter.answering("primary");
    primary.script(primary.failing(Kind.SERVER_ERROR, 503, null));
    var backup = ScriptedAdapter.answering("backup");
    backup.script(backup.answers());
    LlmRouter router = router("providers = [" + endpoint("primary", "breaker { minimum-calls = 4, sliding-window = 4, "
        + "failure-rate-threshold = 50, wait-in-open = 500ms, half-open-calls = 2 }") + ", " + endpoint("backup", "") + "]",
        primary, backup);

    // The circuit opens during the fourth failing call, so it cannot have opened before that call began.
    long openedAt = 0;
    for (int i = 0; i < 4; i++) {
      if (i == 3) openedAt = System.nanoTime();
      LlmResult r = call(router, request(null, null, "q" + i));
      assertEquals("backup", r.provider());
      assertEquals(List.of("primary", "backup"), r.tried());
    }
    assertEquals("OPEN", breakerOf(router, "primary"));
    for (int i = 0; i < 4; i++) {
      LlmResult r = call(router, request(null, null, "open" + i));
      assertEquals("backup", r.provider(), "the fallback serves while the circuit is open");
    }
    assertEquals(4, primary.calls(), "an open circuit answers at once: the endpoint is not called");

    primary.script(primary.answers()); // the endpoint recovers
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(5), Duration.ofMillis(20), () -> {
      try {
        assertEquals("primary", call(router, request(null, null, "probe")).provider());
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      return null;
    });
    long probedAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - openedAt);
    assertTrue(probedAfterMs >= 450, "probed after " + probedAfterMs + " ms, before wait-in-open");
    assertEquals("primary", call(router, request(null, null, "second probe")).provider());
    assertEquals("CLOSED", breakerOf(router, "primary"), "two good probes close the circuit");
    System.out.printf("breaker: opened after 4 failures, fallback served meanwhile, closed after probes %d ms later%n",
        probedAfterMs);
  }

  @Test
  void weightedRoutingSplitsByWeight() throws Exception {
    var a = ScriptedAdapter.answering("a");
    var b = ScriptedAdapter.answering("b");
    LlmRouter router = router("providers = [" + endpoint("a", "") + ", " + endpoint("b", "") + "]\n"
        + "routes.default { policy = weighted, weights { a = 3, b = 1 } }", a, b);
    int n = 2000;
    List<CompletableFuture<LlmResult>> calls = new ArrayList<>();
    for (int i = 0; i < n; i++) calls.add(router.complete(request(null, null, "w" + i)).toCompletableFuture());
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    double shareA = a.calls() / (double) n;
    System.out.printf("weighted 3:1: a served %.3f of %d calls%n", shareA, n);
    assertEquals(n, a.calls() + b.calls());
    assertEquals(0.75, shareA, 0.05);
  }

  @Test
  void leastLatencyPrefersTheFasterProvider() throws Exception {
    var slow = ScriptedAdapter.answering("slow");
    slow.script(slow.after(Duration.ofMillis(80), kit.system()));
    var fast = ScriptedAdapter.answering("fast");
    fast.script(fast.after(Duration.ofMillis(5), kit.system()));
    LlmRouter router = router("providers = [" + endpoint("slow", "") + ", " + endpoint("fast", "") + "]\n"
        + "routes.default { policy = least-latency }", slow, fast);
    List<String> servedBy = new ArrayList<>();
    for (int i = 0; i < 20; i++) servedBy.add(call(router, request(null, null, "l" + i)).provider());
    assertEquals(1, slow.calls(), "measured once, then avoided: " + servedBy);
    assertTrue(servedBy.subList(2, 20).stream().allMatch("fast"::equals), servedBy.toString());
  }

  @Test
  void costAwarePicksTheCheapestModelMeetingTheTier() throws Exception {
    var cheap = ScriptedAdapter.answering("cheap");
    var mid = ScriptedAdapter.answering("mid");
    var premium = ScriptedAdapter.answering("premium");
    LlmRouter router = router("providers = ["
        + "{name = cheap, kind = openai, base-url = \"http://cheap.invalid\", max-retries = 0, models = ["
        + "  {name = c-small, input-usd-per-million = 0.1, output-usd-per-million = 0.4, tier = 1}]},"
        + "{name = mid, kind = openai, base-url = \"http://mid.invalid\", max-retries = 0, models = ["
        + "  {name = m-basic, input-usd-per-million = 0.05, output-usd-per-million = 0.2, tier = 1},"
        + "  {name = m-good, input-usd-per-million = 1, output-usd-per-million = 4, tier = 2}]},"
        + "{name = premium, kind = openai, base-url = \"http://premium.invalid\", max-retries = 0, models = ["
        + "  {name = p-best, input-usd-per-million = 5, output-usd-per-million = 20, tier = 3}]}]\n"
        + "routes { default { policy = cost-aware }, good { policy = cost-aware, tier = 2 },"
        + "  best { policy = cost-aware, tier = 3 } }", cheap, mid, premium);

    LlmResult any = call(router, request("default", null, "x"));
    assertEquals("mid/m-basic", any.provider() + "/" + any.model(), "cheapest of all at tier 1");
    LlmResult good = call(router, request("good", null, "x"));
    assertEquals("mid/m-good", good.provider() + "/" + good.model());
    // The scripted provider reports 10 tokens in, 5 out: 10 × 1 + 5 × 4 = 30 micro-dollars.
    assertEquals(new Usage(10, 5, 30), good.usage());
    LlmResult best = call(router, request("best", null, "x"));
    assertEquals("premium/p-best", best.provider() + "/" + best.model());
    assertEquals(new Usage(10, 5, 150), best.usage());

    mid.script(mid.failing(Kind.SERVER_ERROR, 500, null));
    LlmResult next = call(router, request("good", null, "y"));
    assertEquals("premium", next.provider(), "the next cheapest meeting the tier takes over");
    assertEquals(List.of("mid", "premium"), next.tried());
  }

  @Test
  void banditShiftsTrafficAwayFromAFailingProvider() throws Exception {
    var flaky = ScriptedAdapter.answering("flaky");
    flaky.script(flaky.failing(Kind.SERVER_ERROR, 502, null));
    var steady = ScriptedAdapter.answering("steady");
    // The breaker is kept out of it (it would never judge in 1000 calls): the bandit must learn alone.
    String neverJudges = "breaker { minimum-calls = 1000, sliding-window = 1000 }";
    LlmRouter router = router("providers = [" + endpoint("flaky", neverJudges) + ", " + endpoint("steady", "") + "]\n"
        + "routes.default { policy = bandit }", flaky, steady);
    int flakyFirstLate = 0;
    for (int i = 0; i < 200; i++) {
      LlmResult r = call(router, request(null, null, "b" + i));
      assertEquals("steady", r.provider());
      if (i >= 100 && r.tried().get(0).equals("flaky")) flakyFirstLate++;
    }
    System.out.printf("bandit: flaky tried first in %d of the last 100 calls (%d of 200 in all)%n", flakyFirstLate,
        flaky.calls());
    assertTrue(flakyFirstLate <= 10, "flaky still chosen first " + flakyFirstLate + " times in 100");
    assertTrue(flaky.calls() < 50, "flaky was tried " + flaky.calls() + " times");
  }

  @Test
  void concurrentCallsWithOneKeyJoinAndTheResultIsReusedWithinItsTtl() throws Exception {
    var once = ScriptedAdapter.answering("once");
    once.script(once.hold());
    LlmRouter router = router("providers = [" + endpoint("once", "") + "]\nidempotency.ttl = 400ms", once);
    LlmRequest req = request("run-1/summarize/1", "acme", null, null, "summarize this", null);
    CompletableFuture<LlmResult> first = router.complete(req).toCompletableFuture();
    CompletableFuture<LlmResult> second = router.complete(req).toCompletableFuture();
    ScriptedAdapter.Held held = once.held().poll(5, TimeUnit.SECONDS);
    assertNotNull(held);
    assertFalse(second.isDone(), "the second call waits for the first");
    held.answer().complete(once.response(held.call()));
    LlmResult a = first.get(5, TimeUnit.SECONDS);
    LlmResult b = second.get(5, TimeUnit.SECONDS);
    assertEquals(a, b);
    assertEquals(1, once.calls(), "one provider call for two requests with one key");

    once.script(once.answers());
    assertSame(a, call(router, req), "a re-dispatched step gets the kept result");
    assertEquals(1, once.calls(), "and is neither sent nor charged twice");

    StepFailure reused = failure(router, request("run-1/summarize/1", "acme", null, null, "something else", null));
    assertEquals("INVALID_REQUEST", reused.code());
    assertEquals(1, once.calls());

    LlmResult otherTenant = call(router, request("run-1/summarize/1", "globex", null, null, "summarize this", null));
    assertEquals(2, once.calls(), "keys are per tenant");
    assertNotNull(otherTenant);

    kit.createTestProbe().awaitAssert(Duration.ofSeconds(5), Duration.ofMillis(50), () -> {
      try {
        call(router, req);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      assertEquals(3, once.calls(), "after the TTL the key is forgotten");
      return null;
    });
  }

  @Test
  void aJoinerWhoseSharedCallFailsRetryablyMakesItsOwnCall() throws Exception {
    var once = ScriptedAdapter.answering("once");
    once.script(once.hold());
    LlmRouter router = router("providers = [" + endpoint("once", "max-retries = 0") + "]", once);
    LlmRequest req = request("run-2/draft/1", "acme", null, null, "draft this", null);
    CompletableFuture<LlmResult> first = router.complete(req).toCompletableFuture();
    CompletableFuture<LlmResult> joiner = router.complete(req).toCompletableFuture();
    ScriptedAdapter.Held held = once.held().poll(5, TimeUnit.SECONDS);
    assertNotNull(held);
    once.script(once.answers());
    held.answer().completeExceptionally(
        new ProviderException("once", Kind.SERVER_ERROR, 503, null, "scripted outage", null));

    ExecutionException firstFailure = assertThrows(ExecutionException.class, () -> first.get(5, TimeUnit.SECONDS));
    assertEquals("PROVIDER_UNAVAILABLE", ((StepFailure) firstFailure.getCause()).code());
    LlmResult own = joiner.get(5, TimeUnit.SECONDS);
    assertEquals("once", own.provider());
    assertEquals(2, once.calls(), "the joiner made its own call after the shared one failed");
  }

  @Test
  void theResponseCacheAnswersIdenticalTemperatureZeroRequests() throws Exception {
    var p = ScriptedAdapter.answering("p");
    p.script(p.answers());
    LlmRouter router = router("providers = [" + endpoint("p", "") + "]\nroutes.default { cache = on }", p);
    LlmResult first = call(router, request("k-c1", "acme", null, null, "capital of France?", 0.0));
    LlmResult cached = call(router, request("k-c2", "acme", null, null, "capital of France?", 0.0));
    assertEquals(1, p.calls());
    assertEquals(first.text(), cached.text());
    assertEquals(Usage.ZERO, cached.usage(), "no provider was paid");
    assertEquals(List.of("cache"), cached.tried());
    assertEquals("p", cached.provider());

    call(router, request("k-c3", "acme", null, null, "capital of France?", 0.7));
    assertEquals(2, p.calls(), "only temperature 0 is cached");
    call(router, request("k-c4", "globex", null, null, "capital of France?", 0.0));
    assertEquals(3, p.calls(), "tenants do not share answers");
  }

  @Test
  void failuresBecomeStepFailuresThatNameWhatWasTried() throws Exception {
    var a = ScriptedAdapter.answering("a");
    var b = ScriptedAdapter.answering("b");
    LlmRouter router = router("providers = [" + endpoint("a", "request-timeout = 100ms") + ", "
        + endpoint("b", "request-timeout = 100ms") + "]", a, b);

    a.script(a.failing(Kind.SERVER_ERROR, 503, null));
    b.script(b.failing(Kind.RATE_LIMITED, 429, null));
    StepFailure down = failure(router, request(null, null, "x"));
    assertEquals("PROVIDER_UNAVAILABLE", down.code());
    assertTrue(down.retryable());
    assertTrue(down.getMessage().contains("a: scripted SERVER_ERROR") && down.getMessage().contains("b: scripted RATE_LIMITED"),
        down.getMessage());

    a.script(a.failing(Kind.CLIENT_ERROR, 400, null));
    int bCalls = b.calls();
    StepFailure invalid = failure(router, request(null, null, "x"));
    assertEquals("INVALID_REQUEST", invalid.code());
    assertFalse(invalid.retryable());
    assertEquals(bCalls, b.calls(), "a client error does not move to the next provider");

    // A provider that refuses us (a revoked key) is skipped: the next one serves.
    a.script(a.failing(Kind.REFUSED, 401, null));
    b.script(ScriptedAdapter.ok());
    int aCalls = a.calls();
    LlmResult served = call(router, request(null, null, "x"));
    assertEquals("b", served.provider(), "tried " + served.tried());
    assertEquals(aCalls + 1, a.calls(), "a refusal is not retried at the same provider");

    a.script(ScriptedAdapter.silent());
    b.script(ScriptedAdapter.silent());
    StepFailure slow = failure(router, request(null, null, "x"));
    assertEquals("TIMEOUT", slow.code());
    assertTrue(slow.retryable());

    assertEquals("INVALID_REQUEST", failure(router, request("nope", null, "x")).code());
    StepFailure unknownModel = failure(router, request(null, "gpt-9", "x"));
    assertEquals("INVALID_REQUEST", unknownModel.code());
    assertTrue(unknownModel.getMessage().contains("gpt-9"));
  }

  @Test
  void aPinnedModelGoesToTheProviderThatServesIt() throws Exception {
    var a = ScriptedAdapter.answering("a");
    var b = ScriptedAdapter.answering("b");
    LlmRouter router = router("providers = [" + endpoint("a", "") + ", " + endpoint("b", "") + "]", a, b);
    LlmResult r = call(router, request(null, "m-b", "x"));
    assertEquals("b", r.provider());
    assertEquals("m-b", r.model());
    assertEquals(List.of("b"), r.tried());
    assertEquals("m-b", b.seen().get(0).model());
    assertEquals(0, a.calls());
  }

  @Test
  void deltasOfAStreamingCallReachTheCaller() throws Exception {
    var a = ScriptedAdapter.answering("a");
    a.script((c, n) -> {
      c.deltas().onDelta("one ");
      c.deltas().onDelta("two");
      return CompletableFuture.completedFuture(new dev.orrery.router.provider.ProviderResponse("one two", List.of(), 2, 2,
          c.model(), "stop"));
    });
    LlmRouter router = router("providers = [" + endpoint("a", "") + "]", a);
    var deltas = new java.util.concurrent.ConcurrentLinkedQueue<String>();
    LlmRequest r = new LlmRequest("k-stream", "acme", null, null, List.of(ChatMessage.user("count")), 16, null, null,
        Duration.ofSeconds(5), List.of(), deltas::add);
    LlmResult result = call(router, r);
    assertEquals(result.text(), String.join("", deltas));
  }

  @Test
  void withoutProvidersTheSimulatedOneServesAnyModel() throws Exception {
    LlmRouter router = LlmRouter.start(kit.system(), ConfigFactory.load(), Map.of(), AdapterFactory.none());
    started.add(router);
    LlmResult r = call(router, request(null, null, "hello"));
    assertEquals("simulated", r.provider());
    assertEquals("sim-small", r.model());
    assertEquals(List.of("simulated"), r.tried());
    long expected = Math.round(r.usage().tokensIn() * 0.15 + r.usage().tokensOut() * 0.60);
    assertEquals(expected, r.usage().costMicros());
    assertEquals(List.of("default"), router.routeNames());
    assertEquals(List.of(new ModelInfo("simulated", "sim-small", 0.15, 0.60, 1)), router.models());

    LlmResult pinned = call(router, request(null, "gpt-4o-mini", "hello"));
    assertEquals("gpt-4o-mini", pinned.model(), "a demo without providers still runs workflows that pin a model");
  }
}
