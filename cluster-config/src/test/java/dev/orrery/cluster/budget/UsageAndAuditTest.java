package dev.orrery.cluster.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.core.run.RunIds;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The usage read side agrees with the runs' journals, also across a node restart (its offset resumes,
 * nothing is counted twice), and the audit log records who did what, refusals included.
 */
@ExtendWith(SharedPostgres.class)
class UsageAndAuditTest {
  private static final ActorTestKit kit = ActorTestKit.create();
  private static final Duration WAIT = Duration.ofSeconds(30);

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static Map<String, Object> twoSteps(String topic) {
    return Map.of("workflow", Map.of("name", "pair", "version", 1, "nodes", List.of(
        Map.of("id", "draft", "type", "llm", "prompt", "Draft a note on " + topic),
        Map.of("id", "polish", "type", "llm", "prompt", "Polish {{draft.output}}"))));
  }

  @Test
  void usageAgreesWithTheJournalsAcrossARestart(SharedPostgres.TestDatabase db) throws Exception {
    List<String> runs = new ArrayList<>();
    String key;
    try (TestNode node = TestNode.start(db, Map.of())) {
      ApiClient tenant = node.newTenant("ledgered", "developer");
      key = tenant.bearer();
      for (String topic : List.of("tides", "moons", "comets")) runs.add(node.submit(twoSteps(topic)));
      // the demo tenant's runs must not show up in another tenant's usage
      for (int i = 0; i < 3; i++) runs.set(i, BudgetEnforcementTest.submit(tenant, twoSteps("orbit " + i)));
      Map<String, Long> expected = awaitUsageMatches(tenant, runs);
      JsonNode byModelAndDay = tenant.get("/api/v1/usage?group_by=provider,model,day").body();
      assertEquals(expected.get("cost"), byModelAndDay.at("/totals/cost_micros").asLong(), byModelAndDay.toString());
      assertEquals(6, byModelAndDay.at("/totals/calls").asLong(), "two calls per run: " + byModelAndDay);
      JsonNode row = byModelAndDay.get("rows").get(0);
      assertEquals("simulated", row.at("/group/provider").asText(), row.toString());
      assertTrue(row.at("/group/day").asText().matches("\\d{4}-\\d{2}-\\d{2}"), row.toString());
    }
    try (TestNode restarted = TestNode.start(db, Map.of())) {
      ApiClient tenant = restarted.api().as(key);
      // Once more after the restart: the projection resumed from its offset, nothing counted twice ...
      awaitUsageMatches(tenant, runs);
      // ... and what happens after the restart is added once.
      runs.add(BudgetEnforcementTest.submit(tenant, twoSteps("eclipses")));
      Map<String, Long> expected = awaitUsageMatches(tenant, runs);
      assertEquals(8, expected.get("calls"));
      assertEquals(400, tenant.get("/api/v1/usage?group_by=planet").status());
      assertEquals(400, tenant.get("/api/v1/usage?from=2026-12-01&to=2026-11-01").status());
      assertEquals(400, tenant.get("/api/v1/usage?from=yesterday").status());
    }
  }

  /**
   * Gateway calls that arrive together are settled together, and the ledger persists the settlements of
   * one batch as one event: the usage read side still makes a row of each call.
   */
  @Test
  void gatewayCallsSettledTogetherAreEachARowOfUsage(SharedPostgres.TestDatabase db) throws Exception {
    int calls = 200;
    try (TestNode node = TestNode.start(db, Map.of())) {
      ApiClient tenant = node.newTenant("gatewayed", "developer");
      ExecutorService pool = Executors.newFixedThreadPool(16);
      List<Future<JsonNode>> answers = new ArrayList<>();
      try {
        for (int i = 0; i < calls; i++) {
          String text = "Call number " + i;
          answers.add(pool.submit(() -> {
            ApiClient.Response r = tenant.postJson("/v1/chat/completions",
                Map.of("model", "default", "messages", List.of(Map.of("role", "user", "content", text))));
            assertEquals(200, r.status(), () -> r.body().toString());
            return r.body().get("usage");
          }));
        }
        long tokensIn = 0;
        long tokensOut = 0;
        for (Future<JsonNode> answer : answers) {
          tokensIn += answer.get().get("prompt_tokens").asLong();
          tokensOut += answer.get().get("completion_tokens").asLong();
        }
        long in = tokensIn;
        long out = tokensOut;
        kit.createTestProbe().awaitAssert(WAIT, Duration.ofMillis(100), () -> {
          JsonNode totals = tenant.get("/api/v1/usage").body().get("totals");
          assertEquals(calls, totals.get("calls").asLong(), totals.toString());
          assertEquals(in, totals.get("tokens_in").asLong(), totals.toString());
          assertEquals(out, totals.get("tokens_out").asLong(), totals.toString());
          return null;
        });
      } finally {
        pool.shutdownNow();
      }
      assertTrue(batchesOfSettlements(db, "gatewayed") > 0, "no two of 200 concurrent calls were settled together");
    }
  }

  private static int batchesOfSettlements(SharedPostgres.TestDatabase db, String tenant) throws Exception {
    try (var conn = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
        var st = conn.prepareStatement("SELECT count(*) FROM event_journal WHERE persistence_id = ? "
            + "AND event_ser_manifest LIKE '%$SettledBatch%'")) {
      st.setString(1, "tenant|" + tenant);
      try (var rs = st.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  /** Waits until the usage by run equals what each run's own view says, and returns the totals. */
  private static Map<String, Long> awaitUsageMatches(ApiClient tenant, List<String> runs) {
    Map<String, Long> totals = new HashMap<>();
    kit.createTestProbe().awaitAssert(WAIT, Duration.ofMillis(200), () -> {
      Map<String, JsonNode> expected = new HashMap<>();
      for (String run : runs) {
        JsonNode view = tenant.get("/api/v1/runs/" + run).body();
        assertEquals("SUCCEEDED", view.get("status").asText(), view.toString());
        expected.put(run, view.get("usage"));
      }
      JsonNode usage = tenant.get("/api/v1/usage?group_by=run").body();
      Set<String> seen = new HashSet<>();
      long cost = 0;
      long calls = 0;
      for (JsonNode row : usage.get("rows")) {
        String run = row.at("/group/run").asText();
        JsonNode want = expected.get(run);
        assertTrue(want != null, "usage of a run that is not this tenant's: " + row);
        assertEquals(want.get("tokens_in").asLong(), row.get("tokens_in").asLong(), row.toString());
        assertEquals(want.get("tokens_out").asLong(), row.get("tokens_out").asLong(), row.toString());
        assertEquals(want.get("cost_micros").asLong(), row.get("cost_micros").asLong(), row.toString());
        seen.add(run);
        cost += row.get("cost_micros").asLong();
        calls += row.get("calls").asLong();
      }
      assertEquals(expected.keySet(), seen, "every run of the tenant, and only those: " + usage);
      totals.put("cost", cost);
      totals.put("calls", calls);
      return null;
    });
    return totals;
  }

  @Test
  void theAuditLogRecordsEveryMutatingCallWithItsCallerAndOutcome(SharedPostgres.TestDatabase db) throws Exception {
    try (TestNode node = TestNode.start(db, Map.of())) {
      ApiClient admin = node.newTenant("audited", "admin");
      ApiClient developer = admin.as(TestNode.newKey(admin, "audited", "developer"));
      ApiClient viewer = admin.as(TestNode.newKey(admin, "audited", "viewer"));
      assertEquals(200, admin.postJson("/api/v1/budgets", Map.of("period", "daily", "limit_cents", 500)).status());
      BudgetEnforcementTest.submit(developer, twoSteps("audits"));
      assertEquals(403, viewer.postJson("/api/v1/runs", twoSteps("not allowed")).status());
      // A run id nobody submitted (a new random one: an edited copy of the run's id could equal it).
      assertEquals(404, developer.postJson("/api/v1/runs/" + RunIds.newRunId() + "/cancel", "").status());
      assertEquals(403, viewer.get("/api/v1/audit").status(), "only admins read the audit log");

      List<String> seen = new ArrayList<>();
      kit.createTestProbe().awaitAssert(WAIT, Duration.ofMillis(100), () -> {
        JsonNode entries = admin.get("/api/v1/audit").body().get("entries");
        seen.clear();
        for (JsonNode e : entries) {
          assertEquals("audited", e.get("tenant_id").asText());
          seen.add(e.get("action").asText() + " " + e.get("outcome").asText() + " " + e.get("status").asInt());
        }
        // newest first
        assertEquals(List.of("run.cancel refused 404", "run.submit refused 403", "run.submit ok 201",
            "budget.set ok 200", "key.issue ok 201", "key.issue ok 201"), seen.subList(0, 6), seen.toString());
        return null;
      });
      JsonNode submit = null;
      for (JsonNode e : admin.get("/api/v1/audit").body().get("entries")) {
        if (e.get("action").asText().equals("run.submit") && e.get("status").asInt() == 201) submit = e;
      }
      assertEquals("/api/v1/runs", submit.get("target").asText());
      assertTrue(submit.hasNonNull("key_id") && submit.hasNonNull("at"), submit.toString());
      JsonNode page = admin.get("/api/v1/audit?limit=2").body();
      assertEquals(2, page.get("entries").size());
      JsonNode next = admin.get("/api/v1/audit?limit=2&before=" + page.get("next_before").asLong()).body();
      assertEquals("run.submit", next.at("/entries/0/action").asText(), next.toString());
      // another tenant's log holds none of it
      for (JsonNode e : node.api().get("/api/v1/audit").body().get("entries")) {
        assertEquals("demo", e.get("tenant_id").asText());
      }
    }
  }
}
