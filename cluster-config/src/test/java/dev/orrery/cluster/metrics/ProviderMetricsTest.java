package dev.orrery.cluster.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.FakeOpenAi;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.router.fake.Fault;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A workflow on a provider that fails, then recovers (a 500, a 429 with Retry-After, then answers): the
 * scrape shows each attempt under its provider and status, the errors by kind, the 429 and its wait, the
 * latency histogram, the circuit's state, and the run succeeded.
 */
@ExtendWith(SharedPostgres.class)
class ProviderMetricsTest {
  @Test
  void aFailingThenRecoveringProviderShowsInTheScrape(SharedPostgres.TestDatabase db) throws Exception {
    FakeOpenAi provider = new FakeOpenAi();
    TestNode node = null;
    try {
      node = TestNode.start(db, Map.of("orrery.llm.provider-defaults.max-retries", 3), provider.env());
      ApiClient scraper = new ApiClient(node.node().baseUrl(), null);
      String before = scraper.get("/metrics").raw().body();
      String openai = "provider=\"openai\"";
      double failedCalls = RunMetricsTest.value(before, "llm_requests_total", openai, "status=\"failed\"");
      double servedCalls = RunMetricsTest.value(before, "llm_requests_total", openai, "status=\"succeeded\"");
      double serverErrors = RunMetricsTest.value(before, "llm_errors_total", openai, "kind=\"SERVER_ERROR\"");
      double limited = RunMetricsTest.value(before, "llm_rate_limited_total", openai);
      double waited = RunMetricsTest.value(before, "llm_retry_after_seconds_total", openai);
      double timed = RunMetricsTest.value(before, "llm_latency_seconds_count", openai);

      provider.server().enqueue(Fault.serverError(), Fault.rateLimited(Duration.ofSeconds(1)));
      String runId = node.submit(Map.of("workflow", Map.of("name", "one", "version", 1,
          "nodes", List.of(Map.of("id", "a", "type", "llm", "prompt", "Hello")))));
      assertEquals("SUCCEEDED", node.awaitFinished(runId, Duration.ofSeconds(30)).get("status").asText());

      node.eventually(Duration.ofSeconds(20), () -> {
        String after = scraper.get("/metrics").raw().body();
        assertEquals(failedCalls + 2, RunMetricsTest.value(after, "llm_requests_total", openai, "status=\"failed\""),
            "the 500 and the 429");
        assertEquals(servedCalls + 1, RunMetricsTest.value(after, "llm_requests_total", openai,
            "status=\"succeeded\""));
        assertEquals(serverErrors + 1, RunMetricsTest.value(after, "llm_errors_total", openai, "kind=\"SERVER_ERROR\""));
        assertEquals(limited + 1, RunMetricsTest.value(after, "llm_rate_limited_total", openai));
        assertEquals(waited + 1, RunMetricsTest.value(after, "llm_retry_after_seconds_total", openai));
        assertEquals(timed + 3, RunMetricsTest.value(after, "llm_latency_seconds_count", openai));
        assertTrue(after.contains("llm_circuit_state{provider=\"openai\"} 0.0"), "a closed circuit: " + after);
      });
    } finally {
      provider.close(node);
    }
  }
}
