package dev.orrery.cluster.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.router.fake.FakeProviderServer;
import java.io.ByteArrayInputStream;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.GZIPInputStream;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A node stops (not a drain) while its steps' calls are out and reserved; a new node on the same database
 * re-dispatches them (the same attempt, or the next one where the dying node's router failed the call
 * first). Every call that produced a step's output is settled exactly once, nothing else is charged, and
 * the holds the dead node left behind are freed by their TTL instead of blocking the budget.
 */
@ExtendWith(SharedPostgres.class)
class BudgetRecoveryTest {
  private static final ActorTestKit fakes = ActorTestKit.create();
  private static final int RUNS = 12;
  private static final ObjectMapper JSON = new ObjectMapper();

  @AfterAll
  static void stop() {
    fakes.shutdownTestKit();
  }

  @Test
  void aCrashWithCallsInFlightLosesNoSettlementAndDoublesNone(SharedPostgres.TestDatabase db) throws Exception {
    try (FakeProviderServer provider = FakeProviderServer.start(fakes.system())) {
      Map<String, Object> settings = Map.of("orrery.llm.provider-defaults.max-retries", 0);
      // The second node treats the first node's holds as stale at once: their calls died with it.
      Map<String, Object> restarted = Map.of("orrery.llm.provider-defaults.max-retries", 0,
          "orrery.ledger.hold-ttl", "1ms");
      Map<String, String> env = Map.of("OPENAI_API_KEY", "test-key", "OPENAI_BASE_URL", provider.openAiBaseUrl());
      List<String> runs = new ArrayList<>();
      String key;
      TestNode first = TestNode.start(db, settings, env);
      try {
        ApiClient tenant = first.newTenant("durable", "admin");
        key = tenant.bearer();
        assertEquals(200, tenant.postJson("/api/v1/budgets", Map.of("period", "monthly", "limit_cents", 10_000)).status());
        provider.holdAnswers();
        for (int i = 0; i < RUNS; i++) runs.add(BudgetEnforcementTest.submit(tenant, retried()));
        fakes.createTestProbe().awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(50), () -> {
          assertEquals(RUNS, provider.requestCount("/v1/chat/completions"), "every call is out, reserved, unanswered");
          JsonNode status = tenant.get("/api/v1/budgets/status").body();
          assertEquals(RUNS, status.get("open_reservations").asInt(), status.toString());
          return null;
        });
      } finally {
        first.node().system().terminate();
        first.node().system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        provider.releaseAnswers(); // too late for the first node: nobody is left to settle
      }

      try (TestNode second = TestNode.start(db, restarted, env)) {
        ApiClient tenant = second.api().as(key);
        // Nobody asks for the runs: remember-entities brings them back, and they re-dispatch their steps.
        fakes.createTestProbe().awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
          for (String run : runs) {
            JsonNode view = tenant.get("/api/v1/runs/" + run).body();
            assertEquals("SUCCEEDED", view.get("status").asText(), view.toString());
          }
          return null;
        });
        long cost = 0;
        long tokens = 0;
        for (String run : runs) {
          JsonNode usage = tenant.get("/api/v1/runs/" + run).body().get("usage");
          cost += usage.get("cost_micros").asLong();
          tokens += usage.get("tokens_in").asLong() + usage.get("tokens_out").asLong();
        }
        JsonNode status = tenant.get("/api/v1/budgets/status").body();
        JsonNode monthly = status.at("/periods/0");
        assertEquals("monthly", monthly.get("period").asText());
        assertEquals(cost, monthly.get("spent_micros").asLong(), "charged exactly what the runs used: " + status);
        assertEquals(tokens, monthly.get("spent_tokens").asLong(), status.toString());
        assertEquals(0, status.get("open_reservations").asInt(), "nothing stays held: " + status);
        assertEquals(0, monthly.get("reserved_micros").asLong(), status.toString());
      }
      Map<String, Integer> settlements = settlements(db, "durable");
      assertEquals(RUNS, settlements.size(), "a settlement per call in the tenant's journal: " + settlements);
      assertEquals(List.of(), settlements.entrySet().stream().filter(e -> e.getValue() != 1).toList(),
          "calls settled more than once");
      assertTrue(provider.requestCount("/v1/chat/completions") >= RUNS);
    }
  }

  /** One call, with the default three attempts: a call the dying node failed is tried again after it. */
  private static Map<String, Object> retried() {
    return Map.of("workflow", Map.of("name", "one_call", "version", 1,
        "nodes", List.of(Map.of("id", "ask", "type", "llm", "prompt", "Name one moon of Saturn", "max_tokens", 40))));
  }

  /**
   * How often the tenant's journal settles each reservation, counting the settlements that a batch
   * persisted together in one {@code SettledBatch}.
   */
  private static Map<String, Integer> settlements(SharedPostgres.TestDatabase db, String tenant) throws Exception {
    Map<String, Integer> counts = new TreeMap<>();
    try (var conn = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
        var st = conn.prepareStatement("SELECT event_ser_manifest, event_payload FROM event_journal "
            + "WHERE persistence_id = ? AND event_ser_manifest ~ '\\$Settled(Batch)?(#[0-9]+)?$'")) {
      st.setString(1, "tenant|" + tenant);
      try (var rs = st.executeQuery()) {
        while (rs.next()) {
          byte[] payload = rs.getBytes(2);
          // Pekko's Jackson serializer gzips large payloads.
          if (payload.length > 1 && payload[0] == (byte) 0x1f && payload[1] == (byte) 0x8b) {
            payload = new GZIPInputStream(new ByteArrayInputStream(payload)).readAllBytes();
          }
          JsonNode event = JSON.readTree(payload);
          List<JsonNode> each = new ArrayList<>();
          if (rs.getString(1).contains("$SettledBatch")) event.get("settled").forEach(each::add);
          else each.add(event);
          for (JsonNode settled : each) counts.merge(settled.get("reservation_id").asText(), 1, Integer::sum);
        }
      }
    }
    return counts;
  }
}
