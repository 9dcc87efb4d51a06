package dev.orrery.cluster.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two tenants on one node, each with an admin, a developer and a viewer key: neither sees nor touches the
 * other's objects, and each role is refused what it may not do. Every route of the API is one line of
 * {@link #ROUTES}; the tests walk that table, so a new route is covered by adding its line.
 *
 * <p>Runs on the route {@code held} wait minutes for their one step, so a run a test looks at is still
 * RUNNING when someone tries to cancel it: "not cancelled" then means the cancel was refused, not too late.
 * Each test makes its own tenants.
 */
@ExtendWith(SharedPostgres.class)
class TenantIsolationTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final AtomicInteger IDS = new AtomicInteger();

  /** A run that stays RUNNING for the whole test: its provider answers after ten minutes. */
  private static final String HELD_RUN = "{\"workflow\": {\"name\": \"held\", \"version\": 1, \"nodes\": "
      + "[{\"id\": \"wait\", \"type\": \"llm\", \"route\": \"held\", \"prompt\": \"Wait for the provider\"}]}}";
  private static final String CHAT = "{\"model\": \"default\", \"messages\": [{\"role\": \"user\", \"content\": \"Name a moon\"}]}";

  /** Who may call a route, weakest first. */
  enum Needs { ANYONE, VIEWER, DEVELOPER, ADMIN, PLATFORM_ADMIN }

  /** The error body a route answers with: our envelope, or OpenAI's on the gateway. */
  enum Shape { ENVELOPE, OPENAI }

  /**
   * One route: its path names objects with {@code {tenant}}, {@code {run}} and {@code {key}}; its body may
   * ask for {@code {new_tenant}}, a tenant id not used before.
   */
  record Route(String method, String path, String body, Needs needs, Shape shape) {
    boolean namesAnObject() {
      return path.contains("{");
    }

    @Override
    public String toString() {
      return method + " " + path;
    }
  }

  static final List<Route> ROUTES = List.of(
      new Route("POST", "/api/v1/runs", HELD_RUN, Needs.DEVELOPER, Shape.ENVELOPE),
      new Route("GET", "/api/v1/runs?limit=5", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("GET", "/api/v1/tools", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("POST", "/api/v1/tools/calculator/invoke", "{\"arguments\": {\"expression\": \"1 + 1\"}}",
          Needs.DEVELOPER, Shape.ENVELOPE),
      new Route("GET", "/api/v1/runs/{run}", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("GET", "/api/v1/runs/{run}/journal", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("GET", "/api/v1/runs/{run}/events", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("GET", "/api/v1/runs/{run}/stream", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("GET", "/api/v1/runs/{run}/state", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("GET", "/api/v1/runs/{run}/state?at_seq=1", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("POST", "/api/v1/runs/{run}/replay", "{}", Needs.VIEWER, Shape.ENVELOPE),
      new Route("GET", "/api/v1/runs/{run}/diff/{run}", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("POST", "/api/v1/runs/{run}/fork", "{\"node_id\": \"probe\"}", Needs.DEVELOPER, Shape.ENVELOPE),
      new Route("POST", "/api/v1/runs/{run}/approvals/probe", "{\"decision\": \"approve\"}", Needs.DEVELOPER,
          Shape.ENVELOPE),
      new Route("POST", "/api/v1/runs/{run}/cancel", "{\"reason\": \"probe\"}", Needs.DEVELOPER, Shape.ENVELOPE),
      new Route("POST", "/api/v1/tenants", "{\"tenant_id\": \"{new_tenant}\", \"name\": \"Probe\", \"max_active_runs\": 3}",
          Needs.PLATFORM_ADMIN, Shape.ENVELOPE),
      new Route("GET", "/api/v1/tenants/{tenant}", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("POST", "/api/v1/tenants/{tenant}/keys", "{\"role\": \"admin\", \"name\": \"probe\"}", Needs.ADMIN,
          Shape.ENVELOPE),
      new Route("GET", "/api/v1/tenants/{tenant}/keys", null, Needs.ADMIN, Shape.ENVELOPE),
      new Route("DELETE", "/api/v1/tenants/{tenant}/keys/{key}", null, Needs.ADMIN, Shape.ENVELOPE),
      new Route("POST", "/api/v1/tenants/{tenant}/kill-switch", "{\"on\": true, \"reason\": \"probe\"}", Needs.ADMIN,
          Shape.ENVELOPE),
      new Route("POST", "/api/v1/budgets", "{\"period\": \"daily\", \"limit_cents\": 1, \"token_limit\": 1}", Needs.ADMIN,
          Shape.ENVELOPE),
      new Route("GET", "/api/v1/budgets/status", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("GET", "/api/v1/usage?group_by=run,model", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("GET", "/api/v1/audit", null, Needs.ADMIN, Shape.ENVELOPE),
      new Route("POST", "/api/v1/auth/token", "{\"api_key\": \"ork_nobody.aaaaaaaaaaaa.probe\"}", Needs.ANYONE,
          Shape.ENVELOPE),
      new Route("POST", "/api/v1/agents", "{\"name\": \"probe_agent\", \"system_prompt\": \"Probe.\"}",
          Needs.DEVELOPER, Shape.ENVELOPE),
      new Route("GET", "/api/v1/agents", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("GET", "/api/v1/agents/support_triage/versions", null, Needs.VIEWER, Shape.ENVELOPE),
      new Route("POST", "/api/v1/agents/support_triage/execute", "{\"task_description\": \"Probe\"}",
          Needs.DEVELOPER, Shape.ENVELOPE),
      new Route("POST", "/v1/chat/completions", CHAT, Needs.DEVELOPER, Shape.OPENAI),
      new Route("GET", "/v1/models", null, Needs.VIEWER, Shape.OPENAI));

  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    node = TestNode.start(db, Map.of(
        "orrery.llm.providers", List.of(
            Map.of("name", "sim", "kind", "simulated"),
            Map.of("name", "sim-held", "kind", "simulated", "simulated", Map.of("latency-ms", 600_000))),
        "orrery.llm.routes.default.providers", List.of("sim"),
        "orrery.llm.routes.held.providers", List.of("sim-held")));
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.close();
  }

  /** Tenants A and B of one test; B has a run in flight. */
  private record World(TestTenant a, TestTenant b, String bRun) {
    Objects ofB() {
      return new Objects(b.id(), bRun, b.spare().id());
    }
  }

  private static World world() {
    int n = IDS.incrementAndGet();
    TestTenant a = TestTenant.create(node, "a-" + n);
    TestTenant b = TestTenant.create(node, "b-" + n);
    return new World(a, b, submitHeld(b));
  }

  /** What a path's placeholders stand for. */
  private record Objects(String tenant, String run, String key) {
    static Objects unknown() {
      // A tenant nobody made, a run id nobody used, a key id of the right form that was never issued.
      return new Objects("nobody-" + IDS.incrementAndGet(), UUID.randomUUID().toString(), "zzzzzzzzzzzz");
    }

    String fill(String template) {
      return template.replace("{tenant}", tenant).replace("{run}", run).replace("{key}", key);
    }

    /** The text with these objects' ids put back as placeholders, to compare answers about different objects. */
    String generalize(String text) {
      return text.replace(run, "{run}").replace(key, "{key}").replace(tenant, "{tenant}");
    }
  }

  // ---- tests -------------------------------------------------------------------------------------------

  @Test
  void aKeyOfAnotherTenantGets404OnEveryRouteThatNamesAnObject() {
    World w = world();
    Map<String, JsonNode> before = snapshot(w.b(), w.bRun());
    assertFalse(before.get("tenant").get("kill_switch").asBoolean(), before.toString());
    ApiClient aAdmin = w.a().admin();

    List<String> walked = new ArrayList<>();
    for (Route route : ROUTES) {
      if (!route.namesAnObject()) continue;
      walked.add(route.toString());
      Objects unknown = Objects.unknown();
      assertNotFoundAsIfUnknown(route, w.ofB(), call(aAdmin, route, w.ofB()), unknown, call(aAdmin, route, unknown));
      if (route.path().contains("{key}")) {
        // B's key named under A's own tenant: A's admin may act there, but the key is not A's.
        Objects bKeyUnderA = new Objects(w.a().id(), w.bRun(), w.b().spare().id());
        Objects unknownKeyUnderA = new Objects(w.a().id(), unknown.run(), unknown.key());
        assertNotFoundAsIfUnknown(route, bKeyUnderA, call(aAdmin, route, bKeyUnderA), unknownKeyUnderA,
            call(aAdmin, route, unknownKeyUnderA));
      }
    }
    assertTrue(walked.size() >= 8, "the table names objects on these routes: " + walked);

    Map<String, JsonNode> after = snapshot(w.b(), w.bRun());
    assertEquals(before, after, "B's tenant, keys, budgets and run are as they were");
    assertEquals("RUNNING", after.get("run " + w.bRun()).get("status").asText(), "B's run was not cancelled");
    assertFalse(after.get("tenant").get("kill_switch").asBoolean(), "B's kill switch is still off");
    assertEveryKeyWorks(w.b());
  }

  @Test
  void routesOnTheCallersOwnTenantAffectOnlyIt() {
    World w = world();
    TestTenant a = w.a();
    TestTenant b = w.b();
    Map<String, JsonNode> bBefore = snapshot(b, w.bRun());

    String aRun = submitHeld(a);
    ApiClient.Response aChat = a.developer().postJson("/v1/chat/completions", CHAT);
    assertEquals(200, aChat.status(), aChat.body().toString());
    ApiClient.Response budget = a.admin().postJson("/api/v1/budgets",
        Map.of("period", "daily", "limit_cents", 500, "token_limit", 100_000));
    assertEquals(200, budget.status(), budget.body().toString());
    assertEquals(a.id(), budget.body().get("tenant_id").asText(), "a budget is set on the caller's own tenant");
    ApiClient.Response killed = a.admin().postJson("/api/v1/tenants/" + a.id() + "/kill-switch",
        Map.of("on", true, "reason", "A stops"));
    assertEquals(200, killed.status(), killed.body().toString());

    JsonNode aStatus = ok(a.viewer().get("/api/v1/budgets/status"));
    assertEquals(a.id(), aStatus.get("tenant_id").asText());
    assertTrue(aStatus.get("kill_switch").asBoolean(), aStatus.toString());
    JsonNode aDaily = period(aStatus, "daily");
    assertEquals(500, aDaily.get("limit_cents").asLong(), aStatus.toString());
    assertTrue(aDaily.get("spent_tokens").asLong() > 0, "A's gateway call was charged to A: " + aStatus);

    assertEquals(bBefore, snapshot(b, w.bRun()), "nothing A did on its own tenant reached B");
    JsonNode bStatus = ok(b.viewer().get("/api/v1/budgets/status"));
    assertEquals(b.id(), bStatus.get("tenant_id").asText());
    assertEquals(0, period(bStatus, "daily").get("spent_tokens").asLong(), "B has spent nothing: " + bStatus);

    // A's kill switch stops A's calls, not B's.
    ApiClient.Response aStopped = a.developer().postJson("/v1/chat/completions", CHAT);
    assertEquals(402, aStopped.status(), aStopped.body().toString());
    ApiClient.Response bChat = b.developer().postJson("/v1/chat/completions", CHAT);
    assertEquals(200, bChat.status(), bChat.body().toString());

    // Neither tenant's run ids lead anywhere for the other.
    assertEquals(404, a.admin().get("/api/v1/runs/" + w.bRun()).status());
    assertEquals(404, b.admin().get("/api/v1/runs/" + aRun).status());
    assertEquals(200, a.viewer().get("/api/v1/runs/" + aRun).status());
  }

  @Test
  void theSameIdempotencyKeyInAnotherTenantStartsAnotherRun() {
    World w = world();
    Map<String, String> key = Map.of("Idempotency-Key", "nightly-report");
    ApiClient.Response bRun = w.b().developer().postJson("/api/v1/runs",
        Map.of("workflow_name", "hello", "inputs", Map.of("name", "Bea")), key);
    assertEquals(201, bRun.status(), bRun.body().toString());

    // Another body under the same key would be a conflict within one tenant; across tenants it is a new run.
    ApiClient.Response aRun = w.a().developer().postJson("/api/v1/runs",
        Map.of("workflow_name", "hello", "inputs", Map.of("name", "Abe")), key);
    assertEquals(201, aRun.status(), "A's run is created, not B's answered: " + aRun.body());
    String aRunId = aRun.body().get("run_id").asText();
    assertNotEquals(bRun.body().get("run_id").asText(), aRunId);
    ApiClient.Response aAgain = w.a().developer().postJson("/api/v1/runs",
        Map.of("workflow_name", "hello", "inputs", Map.of("name", "Abe")), key);
    assertEquals(200, aAgain.status(), aAgain.body().toString());
    assertEquals(aRunId, aAgain.body().get("run_id").asText());
    assertEquals(404, w.a().viewer().get("/api/v1/runs/" + bRun.body().get("run_id").asText()).status());
  }

  @Test
  void aGatewayAnswerIsNeverServedToAnotherTenantUnderTheSameIdempotencyKey() {
    World w = world();
    Map<String, String> key = Map.of("Idempotency-Key", "chat-1");
    ApiClient.Response bChat = w.b().developer().postJson("/v1/chat/completions", Map.of("model", "default",
        "messages", List.of(Map.of("role", "user", "content", "Summarise the merger plan"))), key);
    assertEquals(200, bChat.status(), bChat.body().toString());
    assertTrue(bChat.body().at("/choices/0/message/content").asText().contains("merger plan"), bChat.body().toString());

    ApiClient.Response aChat = w.a().developer().postJson("/v1/chat/completions", Map.of("model", "default",
        "messages", List.of(Map.of("role", "user", "content", "Name a moon of Jupiter"))), key);
    assertEquals(200, aChat.status(), aChat.body().toString());
    String aText = aChat.body().at("/choices/0/message/content").asText();
    assertTrue(aText.contains("moon of Jupiter"), "A gets an answer to its own question: " + aText);
    assertFalse(aText.contains("merger"), "A never sees B's answer: " + aText);
  }

  @Test
  void eachRoleIsRefusedWhatItMayNotDo() {
    World w = world();
    TestTenant a = w.a();
    String aRun = submitHeld(a);
    Objects own = new Objects(a.id(), aRun, a.spare().id());
    Map<String, JsonNode> before = snapshot(a, aRun);
    Map<Needs, ApiClient> keys = new LinkedHashMap<>();
    keys.put(Needs.VIEWER, a.viewer());
    keys.put(Needs.DEVELOPER, a.developer());
    keys.put(Needs.ADMIN, a.admin());

    List<String> refused = new ArrayList<>();
    List<String> probeTenants = new ArrayList<>();
    keys.forEach((role, key) -> {
      for (Route route : ROUTES) {
        if (route.needs().compareTo(role) <= 0) continue;
        ApiClient.Response r = call(key, route, own, probeTenants);
        assertRefusal(route, r, 403, "FORBIDDEN", role + " on its own tenant");
        refused.add(role + " " + route);
      }
    });
    assertTrue(refused.contains("ADMIN POST /api/v1/tenants") && refused.contains("DEVELOPER POST /api/v1/tenants"),
        "tenant admins and developers may not create tenants: " + refused);
    assertTrue(refused.contains("VIEWER POST /api/v1/runs/{run}/cancel"), refused.toString());

    Map<String, JsonNode> after = snapshot(a, aRun);
    assertEquals(before, after, "no refused call changed A's tenant, keys, budgets or run");
    assertEquals("RUNNING", after.get("run " + aRun).get("status").asText());
    assertEveryKeyWorks(a);
    for (String probe : probeTenants) {
      assertEquals(404, node.platformAdmin().get("/api/v1/tenants/" + probe).status(), "tenant " + probe + " was not made");
    }
  }

  @Test
  void everyRouteRefusesACallerWithoutCredentials() {
    World w = world();
    Map<String, JsonNode> before = snapshot(w.b(), w.bRun());
    ApiClient anonymous = node.api().as(null);
    for (Route route : ROUTES) {
      ApiClient.Response r = call(anonymous, route, w.ofB());
      String what = route + ": " + r.status() + " " + r.body();
      assertEquals(401, r.status(), what);
      assertEquals(route.shape() == Shape.ENVELOPE ? "UNAUTHENTICATED" : openAiCode("UNAUTHENTICATED"), r.errorCode(), what);
      if (route.needs() != Needs.ANYONE) assertEquals("Bearer", r.header("WWW-Authenticate"), what);
    }
    assertEquals(before, snapshot(w.b(), w.bRun()));
  }

  @Test
  void thePlatformAdminCreatesTenantsButIsNoMemberOfTheirRuns() {
    World w = world();
    ApiClient platform = node.platformAdmin();
    String id = "c-" + IDS.incrementAndGet();

    ApiClient.Response created = platform.postJson("/api/v1/tenants",
        Map.of("tenant_id", id, "name", "Cee Corp", "max_active_runs", 2));
    assertEquals(201, created.status(), created.body().toString());
    assertEquals(id, created.body().get("tenant_id").asText());
    assertEquals("Cee Corp", created.body().get("name").asText());
    assertEquals(2, created.body().get("max_active_runs").asInt());
    assertFalse(created.body().get("kill_switch").asBoolean());
    ApiClient.Response again = platform.postJson("/api/v1/tenants", Map.of("tenant_id", id));
    assertEquals(409, again.status(), again.body().toString());
    assertEquals("CONFLICT", again.errorCode());

    ApiClient.Response first = platform.postJson("/api/v1/tenants/" + id + "/keys", Map.of("role", "admin", "name", "first"));
    assertEquals(201, first.status(), first.body().toString());
    assertEquals("admin", first.body().get("role").asText());
    String firstKey = first.body().get("key").asText();
    assertTrue(firstKey.startsWith("ork_" + id + "." + first.body().get("key_id").asText() + "."), firstKey);
    ApiClient newAdmin = platform.as(firstKey);
    assertEquals(200, newAdmin.get("/api/v1/tenants/" + id).status());
    assertEquals(201, newAdmin.postJson("/api/v1/tenants/" + id + "/keys", Map.of("role", "viewer")).status(),
        "the first key administers its tenant");

    Map<String, JsonNode> before = snapshot(w.b(), w.bRun());
    for (Route route : ROUTES) {
      if (!route.path().contains("{run}")) continue;
      assertRefusal(route, call(platform, route, w.ofB()), 404, "NOT_FOUND", "the platform admin on B's run");
    }
    assertEquals(before, snapshot(w.b(), w.bRun()));
  }

  // ---- helpers -----------------------------------------------------------------------------------------

  private static ApiClient.Response call(ApiClient caller, Route route, Objects objects) {
    return call(caller, route, objects, new ArrayList<>());
  }

  private static ApiClient.Response call(ApiClient caller, Route route, Objects objects, List<String> newTenants) {
    String body = route.body();
    if (body != null && body.contains("{new_tenant}")) {
      String tenant = "probe-" + IDS.incrementAndGet();
      newTenants.add(tenant);
      body = body.replace("{new_tenant}", tenant);
    }
    return caller.request(route.method(), objects.fill(route.path()), body, Map.of());
  }

  /** The refusal in the route's shape; on every route that authenticates, with the rate-limit headers. */
  private static void assertRefusal(Route route, ApiClient.Response r, int status, String code, String who) {
    String what = who + ", " + route + ": " + r.status() + " " + r.body();
    assertEquals(status, r.status(), what);
    assertEquals(route.shape() == Shape.ENVELOPE ? code : openAiCode(code), r.errorCode(), what);
    assertTrue(r.body().at("/error/message").isTextual(), what);
    if (route.needs() != Needs.ANYONE) {
      for (String h : List.of("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")) {
        assertNotNull(r.header(h), h + " on " + what);
      }
    }
  }

  private static String openAiCode(String code) {
    switch (code) {
      case "FORBIDDEN":
        return "forbidden";
      case "UNAUTHENTICATED":
        return "invalid_api_key";
      default:
        throw new IllegalArgumentException("no OpenAI code for " + code);
    }
  }

  /** 404, and the very answer an object that does not exist gets: nothing tells the two apart. */
  private static void assertNotFoundAsIfUnknown(Route route, Objects foreign, ApiClient.Response onForeign,
      Objects unknown, ApiClient.Response onUnknown) {
    assertRefusal(route, onForeign, 404, "NOT_FOUND", "A's admin on " + foreign);
    assertRefusal(route, onUnknown, 404, "NOT_FOUND", "A's admin on " + unknown);
    assertEquals(unknown.generalize(onUnknown.body().toString()), foreign.generalize(onForeign.body().toString()),
        route + ": another tenant's object answers as an unknown one does");
  }

  /** What can be read of a tenant with its own keys: a refused or foreign call must leave all of it as it was. */
  private static Map<String, JsonNode> snapshot(TestTenant t, String... runIds) {
    Map<String, JsonNode> s = new LinkedHashMap<>();
    s.put("tenant", ok(t.admin().get("/api/v1/tenants/" + t.id())));
    s.put("keys", ok(t.admin().get("/api/v1/tenants/" + t.id() + "/keys")));
    ObjectNode budgets = ok(t.admin().get("/api/v1/budgets/status")).deepCopy();
    // The windows' names and ends are the clock's, not the tenant's.
    budgets.get("periods").forEach(p -> ((ObjectNode) p).remove(List.of("window", "resets_at")));
    s.put("budgets", budgets);
    for (String run : runIds) {
      s.put("run " + run, ok(t.viewer().get("/api/v1/runs/" + run)));
      s.put("journal " + run, ok(t.viewer().get("/api/v1/runs/" + run + "/journal")));
    }
    return s;
  }

  private static void assertEveryKeyWorks(TestTenant t) {
    for (ApiClient key : List.of(t.admin(), t.developer(), t.viewer(), t.spareClient())) {
      ApiClient.Response r = key.get("/api/v1/budgets/status");
      assertEquals(200, r.status(), "key " + TestTenant.keyIdOf(key) + " of " + t.id() + ": " + r.body());
      assertEquals(t.id(), r.body().get("tenant_id").asText());
    }
  }

  private static JsonNode ok(ApiClient.Response r) {
    assertEquals(200, r.status(), () -> r.raw().request().uri() + ": " + r.body());
    return r.body();
  }

  private static JsonNode period(JsonNode status, String period) {
    for (JsonNode p : status.get("periods")) if (p.get("period").asText().equals(period)) return p;
    throw new AssertionError("no " + period + " period in " + status);
  }

  /** Submits a run on the held route as the tenant's developer; it is RUNNING when this returns. */
  private static String submitHeld(TestTenant t) {
    ApiClient.Response r = t.developer().postJson("/api/v1/runs", HELD_RUN);
    assertEquals(201, r.status(), r.body().toString());
    String runId = r.body().get("run_id").asText();
    TestProbe<Object> probe = TestProbe.create(node.node().system());
    probe.awaitAssert(WAIT, Duration.ofMillis(50), () -> {
      JsonNode run = ok(t.viewer().get("/api/v1/runs/" + runId));
      assertEquals("RUNNING", run.get("status").asText(), run.toString());
      assertEquals("RUNNING", run.at("/nodes/wait/status").asText(), "its step is with the provider: " + run);
      return null;
    });
    return runId;
  }
}
