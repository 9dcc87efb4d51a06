package dev.orrery.cluster.metrics;

import static dev.orrery.cluster.metrics.RunMetricsTest.value;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.FakeOpenAi;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.TokenEstimate;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The gauges show what a real node holds: two runs whose calls the provider keeps waiting are in flight,
 * one call at the adapter and one queued, their reservations taken from the provider's buckets; once they
 * end, the tenant's remaining budget is its limit less what the API says it spent. The cluster of one has
 * one member up, and the run and tenant shards count their entities.
 */
@ExtendWith(SharedPostgres.class)
class NodeGaugesTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String PROMPT = "Name one moon of Saturn";
  private static final int MAX_TOKENS = 40;
  /** What the provider actor reserves from its token bucket for one call of {@link #oneCall}. */
  private static final long ESTIMATE = TokenEstimate.callTokens(List.of(ChatMessage.user(PROMPT)), MAX_TOKENS);
  private static final String OPENAI = "provider=\"openai\"";

  @Test
  void gaugesShowRunsCallsBucketsBudgetsMembersAndEntities(SharedPostgres.TestDatabase db) throws Exception {
    FakeOpenAi provider = new FakeOpenAi();
    TestNode node = null;
    try {
      Map<String, Object> settings = new HashMap<>(FakeOpenAi.NO_RETRIES);
      // One call at the adapter at a time, and buckets that refill slowly enough to be read exactly: over
      // ten minutes, 60 requests (0.1 a second) and 600 tokens (1 a second).
      settings.put("orrery.llm.provider-defaults.concurrency", 1);
      settings.put("orrery.llm.provider-defaults.requests-per-minute", 6);
      settings.put("orrery.llm.provider-defaults.tokens-per-minute", 60);
      settings.put("orrery.llm.provider-defaults.rate-burst", "10m");
      node = TestNode.start(db, settings, provider.env());
      String tenant = "gauges-" + System.nanoTime();
      ApiClient api = node.newTenant(tenant, "admin");
      ApiClient.Response budget = api.postJson("/api/v1/budgets",
          Map.of("period", "monthly", "limit_cents", 1_000, "token_limit", 1_000_000));
      assertEquals(200, budget.status(), budget.body().toString());
      ApiClient scraper = new ApiClient(node.node().baseUrl(), null);

      provider.server().holdAnswers();
      String first;
      String second;
      try {
        first = submit(api);
        second = submit(api);
        node.eventually(WAIT, () -> {
          String scrape = scraper.get("/metrics").raw().body();
          assertEquals(2.0, value(scrape, "orrery_runs_in_flight"), "runs in flight");
          assertEquals(2.0, value(scrape, "orrery_sharding_entities", "type=\"run\""), "run entities here");
          assertTrue(value(scrape, "orrery_sharding_entities", "type=\"tenant\"") >= 1, "tenant entities here");
          assertEquals(1.0, value(scrape, "llm_calls_in_flight", OPENAI), "the call at the provider");
          assertEquals(1.0, value(scrape, "llm_queue_depth", OPENAI), "the call waiting for a slot");
          assertEquals(60.0, value(scrape, "llm_bucket_capacity", OPENAI, "bucket=\"requests\""));
          double requests = value(scrape, "llm_bucket_level", OPENAI, "bucket=\"requests\"");
          assertTrue(requests >= 58 && requests < 59, "two requests taken, refilling at 0.1/s: " + requests);
          assertEquals(600.0, value(scrape, "llm_bucket_capacity", OPENAI, "bucket=\"tokens\""));
          double tokens = value(scrape, "llm_bucket_level", OPENAI, "bucket=\"tokens\"");
          assertTrue(tokens >= 600 - 2 * ESTIMATE && tokens < 600 - 2 * ESTIMATE + 30,
              "two estimates of " + ESTIMATE + " tokens taken, refilling at 1/s: " + tokens);
        });
      } finally {
        provider.server().releaseAnswers();
      }
      for (String run : List.of(first, second)) {
        node.eventually(WAIT, () ->
            assertEquals("SUCCEEDED", api.get("/api/v1/runs/" + run).body().get("status").asText(), run));
      }

      JsonNode monthly = monthly(api);
      long spentMicros = monthly.get("spent_micros").asLong();
      long spentTokens = monthly.get("spent_tokens").asLong();
      assertTrue(spentMicros > 0 && spentTokens > 0, "the two calls were charged: " + monthly);
      String tenantLabel = "tenant=\"" + tenant + "\"";
      String monthlyLabel = "period=\"monthly\"";
      node.eventually(WAIT, () -> {
        String scrape = scraper.get("/metrics").raw().body();
        assertEquals(1_000 - spentMicros / 10_000.0, value(scrape, "budget_remaining_cents", tenantLabel, monthlyLabel),
            1e-9, "the limit less what was spent, in cents");
        assertEquals(1_000_000.0 - spentTokens, value(scrape, "budget_remaining_tokens", tenantLabel, monthlyLabel));
        assertEquals(spentMicros / 10_000_000.0,
            value(scrape, "budget_utilization_ratio", tenantLabel, monthlyLabel, "kind=\"cost\""), 1e-12);
        assertEquals(spentTokens / 1_000_000.0,
            value(scrape, "budget_utilization_ratio", tenantLabel, monthlyLabel, "kind=\"tokens\""), 1e-12);
        assertEquals(0.0, value(scrape, "budget_remaining_cents", tenantLabel, "period=\"daily\""), "no daily budget");
        assertEquals(0.0, value(scrape, "orrery_runs_in_flight"), "both runs ended");
        assertEquals(0.0, value(scrape, "llm_calls_in_flight", OPENAI));
        assertEquals(0.0, value(scrape, "llm_queue_depth", OPENAI));
        assertEquals(1.0, value(scrape, "cluster_members", "status=\"up\""), "this node, up");
        assertEquals(1.0, value(scrape, "cluster_members"), "and no other member in any status");
        assertEquals(0.0, value(scrape, "cluster_unreachable_members"));
      });
    } finally {
      provider.close(node);
    }
  }

  private static String submit(ApiClient api) {
    ApiClient.Response r = api.postJson("/api/v1/runs", Map.of("workflow", Map.of("name", "one_call", "version", 1,
        "nodes", List.of(Map.of("id", "ask", "type", "llm", "prompt", PROMPT, "max_tokens", MAX_TOKENS)))));
    assertEquals(201, r.status(), r.body().toString());
    return r.body().get("run_id").asText();
  }

  private static JsonNode monthly(ApiClient api) {
    for (JsonNode p : api.get("/api/v1/budgets/status").body().get("periods")) {
      if (p.get("period").asText().equals("monthly")) return p;
    }
    throw new AssertionError("no monthly period in the budget status");
  }
}
