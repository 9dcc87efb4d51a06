package dev.orrery.cluster.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.TokenEstimate;
import dev.orrery.router.fake.FakeProviderServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Budgets are enforced before a provider is called: against a real node whose OpenAI-compatible provider
 * is a fake on loopback that counts every call it gets and can hold its answers.
 */
@ExtendWith(SharedPostgres.class)
class BudgetEnforcementTest {
  private static final ActorTestKit fakes = ActorTestKit.create();
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final String COMPLETIONS = "/v1/chat/completions";
  private static final int MAX_TOKENS = 40;
  private static final String PROMPT = "Name one moon of Jupiter";
  /** What a reservation holds for one call of {@link #oneCall}: the prompt's estimate plus max_tokens. */
  private static final long ESTIMATE = TokenEstimate.callTokens(List.of(ChatMessage.user(PROMPT)), MAX_TOKENS);

  private static FakeProviderServer provider;
  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    provider = FakeProviderServer.start(fakes.system());
    node = TestNode.start(db,
        Map.of("orrery.llm.provider-defaults.max-retries", 0, "orrery.run.budget-retry-interval", "200ms"),
        Map.of("OPENAI_API_KEY", "test-key", "OPENAI_BASE_URL", provider.openAiBaseUrl()));
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (node != null) node.close();
    } finally {
      provider.close();
      fakes.shutdownTestKit();
    }
  }

  @Test
  void twoHundredStepsRacingForABudgetOfAHundredMakeExactlyAHundredCalls() throws Exception {
    ApiClient tenant = node.newTenant("racers", "admin");
    setBudget(tenant, Map.of("period", "daily", "token_limit", 100 * ESTIMATE));
    long callsBefore = provider.requestCount(COMPLETIONS);
    List<String> runs = new ArrayList<>();
    provider.holdAnswers();
    try {
      ExecutorService clients = Executors.newFixedThreadPool(32);
      try {
        List<Callable<String>> submits = new ArrayList<>();
        for (int i = 0; i < 200; i++) submits.add(() -> submit(tenant, oneCall("fail", null)));
        for (Future<String> f : clients.invokeAll(submits)) runs.add(f.get());
      } finally {
        clients.shutdown();
      }
      // Every reservation is decided while no answer has come back, so no settlement frees anything.
      probe().awaitAssert(WAIT, Duration.ofMillis(200), () -> {
        assertEquals(100, statuses(tenant, runs).getOrDefault("FAILED", 0), "refused runs");
        assertEquals(callsBefore + 100, provider.requestCount(COMPLETIONS), "calls made");
        return null;
      });
    } finally {
      provider.releaseAnswers();
    }
    probe().awaitAssert(WAIT, Duration.ofMillis(200), () -> {
      assertEquals(Map.of("SUCCEEDED", 100, "FAILED", 100), statuses(tenant, runs));
      return null;
    });
    assertEquals(callsBefore + 100, provider.requestCount(COMPLETIONS), "no call was made past the budget");

    long tokens = 0;
    long cost = 0;
    for (String run : runs) {
      JsonNode view = tenant.get("/api/v1/runs/" + run).body();
      if (view.get("status").asText().equals("FAILED")) {
        assertEquals("BUDGET_EXCEEDED", view.at("/error/code").asText(), view.toString());
        assertTrue(view.at("/error/message").asText().contains("token limit"), view.toString());
      } else {
        tokens += view.at("/usage/tokens_in").asLong() + view.at("/usage/tokens_out").asLong();
        cost += view.at("/usage/cost_micros").asLong();
      }
    }
    JsonNode daily = period(tenant, "daily");
    assertEquals(tokens, daily.get("spent_tokens").asLong(), "settled tokens are the calls' usage: " + daily);
    assertEquals(cost, daily.get("spent_micros").asLong(), "settled cost is the calls' cost to the micro-dollar");
    assertTrue(cost > 0, "the calls were priced: " + daily);
    assertEquals(0, daily.get("reserved_tokens").asLong(), "nothing is held once every call ended: " + daily);
  }

  @Test
  void aPausedRunWaitsForBudgetAndResumesWhenTheAdminRaisesIt() {
    ApiClient tenant = node.newTenant("patient", "admin");
    setBudget(tenant, Map.of("period", "monthly", "token_limit", ESTIMATE - 1));
    long callsBefore = provider.requestCount(COMPLETIONS);
    String run = submit(tenant, oneCall("pause", null));

    JsonNode waiting = awaitStatus(tenant, run, "AWAITING_BUDGET");
    assertEquals("RUNNING", waiting.at("/nodes/ask/status").asText(), waiting.toString());
    assertEquals(callsBefore, provider.requestCount(COMPLETIONS), "no call is made while the budget does not fit");

    setBudget(tenant, Map.of("period", "monthly", "token_limit", 10 * ESTIMATE));
    JsonNode done = awaitStatus(tenant, run, "SUCCEEDED");
    assertEquals(1, done.at("/nodes/ask/attempts").asInt(), "waiting for budget is not a failed attempt: " + done);
    assertEquals(callsBefore + 1, provider.requestCount(COMPLETIONS));

    JsonNode events = tenant.get("/api/v1/runs/" + run + "/journal").body().get("events");
    assertEquals(1, count(events, "BudgetExhausted"), "the wait is journaled once, not per retry: " + events);
    assertEquals(0, count(events, "StepFailed"));
    assertEquals(1, count(events, "StepSucceeded"));
  }

  @Test
  void theKillSwitchStopsEveryNewCallOfItsTenantAtOnce() {
    ApiClient tenant = node.newTenant("runaway", "admin");
    // A tenant without a budget: after its first call the node grants its reservations by itself.
    awaitStatus(tenant, submit(tenant, oneCall("fail", null)), "SUCCEEDED");
    long callsBefore = provider.requestCount(COMPLETIONS);
    var on = tenant.postJson("/api/v1/tenants/runaway/kill-switch", Map.of("on", true, "reason", "agent loop"));
    assertEquals(200, on.status(), on.body().toString());
    assertTrue(on.body().get("kill_switch").asBoolean());

    String run = submit(tenant, oneCall("fail", null));
    JsonNode failed = awaitStatus(tenant, run, "FAILED");
    assertEquals("BUDGET_EXCEEDED", failed.at("/error/code").asText());
    assertTrue(failed.at("/error/message").asText().contains("kill switch"), failed.toString());
    assertTrue(failed.at("/error/message").asText().contains("agent loop"), failed.toString());

    var gateway = tenant.postJson("/v1/chat/completions",
        Map.of("model", "default", "messages", List.of(Map.of("role", "user", "content", PROMPT))));
    assertEquals(402, gateway.status(), gateway.body().toString());
    assertEquals("insufficient_quota", gateway.body().at("/error/code").asText(), gateway.body().toString());
    assertEquals(callsBefore, provider.requestCount(COMPLETIONS), "no provider was called");

    assertEquals(200, tenant.postJson("/api/v1/tenants/runaway/kill-switch", Map.of("on", false)).status());
    awaitStatus(tenant, submit(tenant, oneCall("fail", null)), "SUCCEEDED");
  }

  @Test
  void aRunsOwnTokenBudgetRefusesACallBeforeItIsMade() {
    ApiClient tenant = node.newTenant("frugal", "developer");
    long callsBefore = provider.requestCount(COMPLETIONS);
    String run = submit(tenant, oneCall("fail", ESTIMATE - 1));
    JsonNode failed = awaitStatus(tenant, run, "FAILED");
    assertEquals("BUDGET_EXCEEDED", failed.at("/error/code").asText(), failed.toString());
    assertTrue(failed.at("/error/message").asText().contains("token_budget of " + (ESTIMATE - 1)), failed.toString());
    assertEquals(callsBefore, provider.requestCount(COMPLETIONS), "the refused call was not made");

    awaitStatus(tenant, submit(tenant, oneCall("fail", ESTIMATE)), "SUCCEEDED");
  }

  @Test
  void softAlertsAreRaisedWhenSpendingCrossesEightyAndAHundredPercent() {
    ApiClient tenant = node.newTenant("watched", "admin");
    setBudget(tenant, Map.of("period", "daily", "token_limit", 10 * ESTIMATE));
    provider.holdAnswers();
    String run;
    try {
      long callsBefore = provider.requestCount(COMPLETIONS);
      run = submit(tenant, oneCall("fail", null));
      probe().awaitAssert(WAIT, Duration.ofMillis(50), () -> {
        assertEquals(callsBefore + 1, provider.requestCount(COMPLETIONS));
        return null;
      });
      // Lowered while the call is out: its settlement crosses both thresholds of the new limit.
      setBudget(tenant, Map.of("period", "daily", "token_limit", 1));
    } finally {
      provider.releaseAnswers();
    }
    awaitStatus(tenant, run, "SUCCEEDED");
    JsonNode status = tenant.get("/api/v1/budgets/status").body();
    List<Integer> percents = new ArrayList<>();
    for (JsonNode alert : status.get("alerts")) {
      assertEquals("daily", alert.get("period").asText(), alert.toString());
      assertEquals("tokens", alert.get("kind").asText(), alert.toString());
      percents.add(alert.get("percent").asInt());
    }
    assertEquals(List.of(80, 100), percents, status.toString());

    JsonNode refused = awaitStatus(tenant, submit(tenant, oneCall("fail", null)), "FAILED");
    assertEquals("BUDGET_EXCEEDED", refused.at("/error/code").asText());
    assertEquals(2, tenant.get("/api/v1/budgets/status").body().get("alerts").size(), "alerts are not repeated");
  }

  @Test
  void aTenantPastItsLimitOfActiveRunsIsToldToComeBackLater() {
    var created = node.platformAdmin().postJson("/api/v1/tenants", Map.of("tenant_id", "busy", "max_active_runs", 2));
    assertEquals(201, created.status(), created.body().toString());
    ApiClient tenant = node.api().as(TestNode.newKey(node.platformAdmin(), "busy", "developer"));
    List<String> runs = new ArrayList<>();
    provider.holdAnswers();
    try {
      runs.add(submit(tenant, oneCall("fail", null)));
      runs.add(submit(tenant, oneCall("fail", null)));
      ApiClient.Response third = tenant.postJson("/api/v1/runs", oneCall("fail", null));
      assertEquals(429, third.status(), third.body().toString());
      assertEquals("RATE_LIMIT_EXCEEDED", third.errorCode());
      assertTrue(third.body().at("/error/message").asText().contains("active runs"), third.body().toString());
      assertTrue(Integer.parseInt(third.header("Retry-After")) >= 1);
      assertTrue(third.body().at("/error/retry_after").asInt() >= 1, third.body().toString());
    } finally {
      provider.releaseAnswers();
    }
    for (String run : runs) awaitStatus(tenant, run, "SUCCEEDED");
    // Ended runs gave their slots back.
    awaitStatus(tenant, submit(tenant, oneCall("fail", null)), "SUCCEEDED");
    probe().awaitAssert(WAIT, Duration.ofMillis(50), () -> {
      assertEquals(0, node.platformAdmin().get("/api/v1/tenants/busy").body().get("active_runs").asInt());
      return null;
    });
  }

  @Test
  void aConflictingRepeatOfAnIdempotencyKeyLeavesTheRunItsSlot() {
    var created = node.platformAdmin().postJson("/api/v1/tenants", Map.of("tenant_id", "keyed", "max_active_runs", 1));
    assertEquals(201, created.status(), created.body().toString());
    ApiClient tenant = node.api().as(TestNode.newKey(node.platformAdmin(), "keyed", "developer"));
    Map<String, String> key = Map.of("Idempotency-Key", "nightly-report");
    provider.holdAnswers();
    String run;
    try {
      ApiClient.Response first = tenant.postJson("/api/v1/runs", oneCall("fail", null), key);
      assertEquals(201, first.status(), first.body().toString());
      run = first.body().get("run_id").asText();
      ApiClient.Response other = tenant.postJson("/api/v1/runs", oneCall("fail", 1_000_000L), key);
      assertEquals(409, other.status(), other.body().toString());
      assertEquals("CONFLICT", other.errorCode());
      // The refused repeat gave nothing back: the run holds the tenant's only slot.
      assertEquals(1, node.platformAdmin().get("/api/v1/tenants/keyed").body().get("active_runs").asInt());
      ApiClient.Response another = tenant.postJson("/api/v1/runs", oneCall("fail", null));
      assertEquals(429, another.status(), another.body().toString());
    } finally {
      provider.releaseAnswers();
    }
    awaitStatus(tenant, run, "SUCCEEDED");
    probe().awaitAssert(WAIT, Duration.ofMillis(50), () -> {
      assertEquals(0, node.platformAdmin().get("/api/v1/tenants/keyed").body().get("active_runs").asInt());
      return null;
    });
  }

  // ---- helpers -----------------------------------------------------------------------------------------

  static Map<String, Object> oneCall(String onBudgetExhausted, Long tokenBudget) {
    Map<String, Object> policy = new HashMap<>();
    policy.put("retry", Map.of("max_attempts", 1));
    policy.put("on_budget_exhausted", onBudgetExhausted);
    if (tokenBudget != null) policy.put("token_budget", tokenBudget);
    return Map.of("workflow", Map.of("name", "one_call", "version", 1, "policy", policy,
        "nodes", List.of(Map.of("id", "ask", "type", "llm", "prompt", PROMPT, "max_tokens", MAX_TOKENS))));
  }

  static String submit(ApiClient tenant, Object body) {
    ApiClient.Response r = tenant.postJson("/api/v1/runs", body);
    assertEquals(201, r.status(), () -> r.body().toString());
    return r.body().get("run_id").asText();
  }

  private static void setBudget(ApiClient admin, Map<String, Object> budget) {
    ApiClient.Response r = admin.postJson("/api/v1/budgets", budget);
    assertEquals(200, r.status(), () -> r.body().toString());
  }

  private static JsonNode period(ApiClient tenant, String period) {
    for (JsonNode p : tenant.get("/api/v1/budgets/status").body().get("periods")) {
      if (p.get("period").asText().equals(period)) return p;
    }
    throw new AssertionError("no " + period + " period in the budget status");
  }

  private static Map<String, Integer> statuses(ApiClient tenant, List<String> runs) {
    Map<String, Integer> counts = new HashMap<>();
    for (String run : runs) counts.merge(tenant.get("/api/v1/runs/" + run).body().get("status").asText(), 1, Integer::sum);
    return counts;
  }

  private static JsonNode awaitStatus(ApiClient tenant, String run, String status) {
    var last = new java.util.concurrent.atomic.AtomicReference<JsonNode>();
    probe().awaitAssert(WAIT, Duration.ofMillis(50), () -> {
      last.set(tenant.get("/api/v1/runs/" + run).body());
      assertEquals(status, last.get().get("status").asText(), last.get().toString());
      return null;
    });
    return last.get();
  }

  private static int count(JsonNode events, String type) {
    int n = 0;
    for (JsonNode e : events) if (e.get("type").asText().equals(type)) n++;
    return n;
  }

  private static TestProbe<Object> probe() {
    return fakes.createTestProbe();
  }
}
