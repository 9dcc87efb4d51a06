package dev.orrery.cluster.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code GET /metrics} as Prometheus scrapes it: a run that succeeds and one that fails move
 * {@code workflow_executions_total} by one each under their status and tenant, and the duration histogram
 * and the step counter by what they did; agent invocations move the {@code agent_*} metrics of their agent.
 * Kamon is one per JVM, so the test compares before and after.
 */
@ExtendWith(SharedPostgres.class)
class RunMetricsTest {
  private static TestNode node;
  private static String tenant;
  private static ApiClient api;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    node = TestNode.start(db, Map.of("orrery.llm.simulated.failure-rate", 0.0));
    tenant = "metrics-" + System.nanoTime();
    ApiClient admin = node.api().as(TestNode.PLATFORM_KEY);
    assertEquals(201, admin.postJson("/api/v1/tenants", Map.of("tenant_id", tenant, "name", tenant)).status());
    api = node.api().as(TestNode.newKey(admin, tenant, "admin"));
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
  }

  /** The sum of the samples of {@code metric} whose labels include all of {@code labels}. */
  static double value(String scrape, String metric, String... labels) {
    double sum = 0;
    for (String line : scrape.split("\n")) {
      if (!line.startsWith(metric + "{") && !line.startsWith(metric + " ")) continue;
      boolean all = true;
      for (String label : labels) all &= line.contains(label);
      if (all) sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
    }
    return sum;
  }

  private static String scrape() {
    ApiClient.Response r = new ApiClient(node.node().baseUrl(), null).get("/metrics");
    assertEquals(200, r.status());
    return r.raw().body();
  }

  @Test
  void runsAndStepsShowInTheScrapeWithTheirStatusAndTenant() {
    String before = scrape();
    String tenantLabel = "tenant=\"" + tenant + "\"";
    double succeeded = value(before, "workflow_executions_total", "status=\"succeeded\"", tenantLabel);
    double failed = value(before, "workflow_executions_total", "status=\"failed\"", tenantLabel);
    double durations = value(before, "workflow_duration_seconds_count");
    double steps = value(before, "orrery_steps_total", "status=\"succeeded\"");
    double llmSteps = value(before, "orrery_step_duration_seconds_count", "kind=\"llm\"", "status=\"succeeded\"");
    double agentFailures = value(before, "orrery_steps_total", "kind=\"agent\"", "status=\"failed\"");
    String submits = "route=\"/api/v1/runs\"";
    double submitted = value(before, "http_server_requests_total", submits, "method=\"POST\"", "status=\"201\"");

    ApiClient.Response ok = api.postJson("/api/v1/runs", Map.of("workflow", Map.of("name", "two", "version", 1,
        "nodes", List.of(Map.of("id", "a", "type", "llm", "prompt", "Hello"),
            Map.of("id", "b", "type", "llm", "prompt", "Shorter: {{a.output}}")))));
    assertEquals(201, ok.status(), ok.body().toString());
    // An agent the tenant does not have fails its step, and the run.
    ApiClient.Response bad = api.postJson("/api/v1/runs", Map.of("workflow", Map.of("name", "bad", "version", 1,
        "nodes", List.of(Map.of("id", "a", "type", "agent", "agent", "nobody", "prompt", "hi")))));
    assertEquals(201, bad.status(), bad.body().toString());

    node.eventually(Duration.ofSeconds(20), () -> {
      String after = scrape();
      assertEquals(succeeded + 1, value(after, "workflow_executions_total", "status=\"succeeded\"", tenantLabel),
          "succeeded runs of the tenant");
      assertEquals(failed + 1, value(after, "workflow_executions_total", "status=\"failed\"", tenantLabel),
          "failed runs of the tenant");
      assertTrue(value(after, "workflow_duration_seconds_count") >= durations + 2, "both durations recorded");
      assertTrue(value(after, "orrery_steps_total", "status=\"succeeded\"") >= steps + 2, "the two LLM steps");
      assertTrue(value(after, "orrery_step_duration_seconds_count", "kind=\"llm\"", "status=\"succeeded\"")
          >= llmSteps + 2, "the two LLM steps' durations, by kind");
      assertTrue(value(after, "orrery_steps_total", "kind=\"agent\"", "status=\"failed\"") >= agentFailures + 1,
          "the agent step that failed");
      assertEquals(submitted + 2, value(after, "http_server_requests_total", submits, "method=\"POST\"",
          "status=\"201\""), "the two submits, by route template and status");
    });
    Matcher bucket = Pattern.compile("(?m)^workflow_duration_seconds_bucket\\{.*le=\"").matcher(scrape());
    assertTrue(bucket.find(), "the duration is a histogram with buckets");
  }

  @Test
  void agentInvocationsShowByAgentWithTheirErrorsAndTokens() {
    assertEquals(201, api.postJson("/api/v1/agents", Map.of("name", "brief", "system_prompt", "Be brief.")).status());
    String agent = "agent_id=\"brief\"";
    String tenantLabel = "tenant=\"" + tenant + "\"";
    String before = scrape();
    double ok = value(before, "agent_requests_total", agent, tenantLabel, "status=\"succeeded\"");
    double unknown = value(before, "agent_errors_total", "agent_id=\"unknown\"", tenantLabel, "code=\"NOT_FOUND\"");
    double tokens = value(before, "agent_tokens_used_total", agent, tenantLabel);
    double timed = value(before, "agent_processing_seconds_count", agent);

    for (int i = 0; i < 2; i++) {
      ApiClient.Response r = api.postJson("/api/v1/agents/brief/execute", Map.of("task_description", "Say hi"));
      assertEquals(200, r.status(), r.body().toString());
    }
    ApiClient.Response missing = api.postJson("/api/v1/agents/nobody-" + System.nanoTime() + "/execute",
        Map.of("task_description", "Say hi"));
    assertEquals(404, missing.status(), missing.body().toString());

    node.eventually(Duration.ofSeconds(20), () -> {
      String after = scrape();
      assertEquals(ok + 2, value(after, "agent_requests_total", agent, tenantLabel, "status=\"succeeded\""));
      assertEquals(timed + 2, value(after, "agent_processing_seconds_count", agent));
      assertTrue(value(after, "agent_tokens_used_total", agent, tenantLabel) > tokens, "tokens of the two answers");
      assertEquals(unknown + 1, value(after, "agent_errors_total", "agent_id=\"unknown\"", tenantLabel,
          "code=\"NOT_FOUND\""), "a name that is no agent is not a label");
    });
  }

  @Test
  void chargesAndRefusalsShowByTenant() {
    String other = "metrics-budget-" + System.nanoTime();
    ApiClient admin = node.api().as(TestNode.PLATFORM_KEY);
    assertEquals(201, admin.postJson("/api/v1/tenants", Map.of("tenant_id", other, "name", other)).status());
    ApiClient owner = node.api().as(TestNode.newKey(admin, other, "admin"));
    String tenantLabel = "tenant=\"" + other + "\"";
    Map<String, Object> oneCall = Map.of("workflow", Map.of("name", "one", "version", 1,
        "nodes", List.of(Map.of("id", "a", "type", "llm", "prompt", "Hello"))));

    ApiClient.Response charged = owner.postJson("/api/v1/runs", oneCall);
    assertEquals(201, charged.status(), charged.body().toString());
    assertEquals("SUCCEEDED", awaitRun(owner, charged.body().get("run_id").asText()));
    node.eventually(Duration.ofSeconds(20), () -> {
      String after = scrape();
      assertTrue(value(after, "budget_tokens_settled_total", tenantLabel) > 0, "the call's tokens were settled");
      assertTrue(value(after, "budget_cost_micros_settled_total", tenantLabel) > 0, "and its cost");
    });

    assertEquals(200, owner.postJson("/api/v1/tenants/" + other + "/kill-switch", Map.of("on", true, "reason", "test"))
        .status());
    ApiClient.Response refused = owner.postJson("/api/v1/runs", oneCall);
    assertEquals(201, refused.status(), refused.body().toString());
    assertEquals("FAILED", awaitRun(owner, refused.body().get("run_id").asText()));
    node.eventually(Duration.ofSeconds(20), () -> assertEquals(1.0, value(scrape(), "budget_reservations_refused_total",
        tenantLabel, "code=\"BUDGET_EXCEEDED\""), "the reservation the kill switch refused"));
  }

  private static String awaitRun(ApiClient client, String runId) {
    java.util.concurrent.atomic.AtomicReference<String> status = new java.util.concurrent.atomic.AtomicReference<>();
    node.eventually(Duration.ofSeconds(30), () -> {
      status.set(client.get("/api/v1/runs/" + runId).body().get("status").asText());
      assertTrue(Set.of("SUCCEEDED", "FAILED", "CANCELLED").contains(status.get()), "finished: " + status.get());
    });
    return status.get();
  }
}
