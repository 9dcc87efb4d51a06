package dev.orrery.cluster.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.FakeOpenAi;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.router.fake.Fault;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The Grafana dashboards and the Prometheus alert rules under {@code k8s/monitoring} name only metrics a
 * node really exports: a node runs what makes each metric appear (runs that succeed and fail, a provider
 * that answers 500 and 429, a fallback to a second provider, agents, a refused budget), and every metric
 * name of every dashboard query and rule expression must be in its scrape.
 */
@ExtendWith(SharedPostgres.class)
class MonitoringAssetsTest {
  private static final Path MONITORING = Path.of("..", "k8s", "monitoring");
  /** Our metric families; anything else in an expression is PromQL or Prometheus' own ({@code up}). */
  private static final Pattern METRIC =
      Pattern.compile("\\b((?:workflow|agent|llm|budget|orrery|http|journal|cluster)_[a-z0-9_]+)");

  @Test
  void everyMetricOfTheDashboardsAndRulesIsInARealScrape(SharedPostgres.TestDatabase db) throws Exception {
    Map<String, List<String>> used = usedMetrics();
    assertTrue(used.size() >= 20, "found the metrics the assets use: " + used.keySet());

    FakeOpenAi provider = new FakeOpenAi();
    TestNode node = null;
    try {
      // Two providers on the fake (its OpenAI and Anthropic wire), no retries: a failed first attempt falls back.
      // Limits far above what the test sends, so that their buckets are exported.
      Map<String, Object> settings = new HashMap<>(FakeOpenAi.NO_RETRIES);
      settings.put("orrery.llm.provider-defaults.requests-per-minute", 600_000);
      settings.put("orrery.llm.provider-defaults.tokens-per-minute", 600_000_000);
      node = TestNode.start(db, settings, Map.of(
          "OPENAI_API_KEY", "k", "OPENAI_BASE_URL", provider.server().openAiBaseUrl(),
          "ANTHROPIC_API_KEY", "k", "ANTHROPIC_BASE_URL", provider.server().anthropicBaseUrl()));
      String tenant = "monitoring-" + System.nanoTime();
      ApiClient admin = node.api().as(TestNode.PLATFORM_KEY);
      assertEquals(201, admin.postJson("/api/v1/tenants", Map.of("tenant_id", tenant, "name", tenant)).status());
      ApiClient api = node.api().as(TestNode.newKey(admin, tenant, "admin"));
      // A budget, for the budget gauges.
      assertEquals(200, api.postJson("/api/v1/budgets", Map.of("period", "monthly", "limit_cents", 100_000,
          "token_limit", 100_000_000)).status());
      Map<String, Object> oneCall = Map.of("workflow", Map.of("name", "one", "version", 1,
          "nodes", List.of(Map.of("id", "a", "type", "llm", "prompt", "Hello"))));

      provider.server().enqueue(Fault.serverError()); // openai fails, anthropic serves: a fallback
      finish(node, api, oneCall, "SUCCEEDED");
      provider.server().enqueue(Fault.rateLimited(Duration.ofSeconds(1)));
      finish(node, api, oneCall, "SUCCEEDED");
      assertEquals(201, api.postJson("/api/v1/agents", Map.of("name", "brief", "system_prompt", "Be brief.")).status());
      assertEquals(200, api.postJson("/api/v1/agents/brief/execute", Map.of("task_description", "Hi")).status());
      finish(node, api, Map.of("workflow", Map.of("name", "bad", "version", 1, "nodes",
          List.of(Map.of("id", "a", "type", "agent", "agent", "nobody", "prompt", "hi")))), "FAILED");
      assertEquals(200, api.postJson("/api/v1/tenants/" + tenant + "/kill-switch", Map.of("on", true, "reason", "t"))
          .status());
      finish(node, api, oneCall, "FAILED");

      ApiClient scraper = new ApiClient(node.node().baseUrl(), null);
      node.eventually(Duration.ofSeconds(20), () -> {
        Set<String> exported = exported(scraper.get("/metrics").raw().body());
        Map<String, List<String>> missing = new TreeMap<>(used);
        missing.keySet().removeIf(exported::contains);
        assertEquals(Map.of(), missing, "metrics the dashboards and rules use that the node does not export");
      });
    } finally {
      provider.close(node);
    }
  }

  /** Prometheus' own check of the rules (syntax, PromQL, templates), where promtool is installed. */
  @Test
  void promtoolAcceptsTheAlertRules() throws Exception {
    Path promtool = onPath("promtool");
    Assumptions.assumeTrue(promtool != null, "promtool is not on the PATH");
    Process check = new ProcessBuilder(promtool.toString(), "check", "rules",
        MONITORING.resolve("alerts.yaml").toString()).redirectErrorStream(true).start();
    String output = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(check.waitFor(60, TimeUnit.SECONDS), "promtool did not finish: " + output);
    assertEquals(0, check.exitValue(), "promtool check rules failed:\n" + output);
  }

  private static Path onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) return null;
    for (String dir : path.split(java.io.File.pathSeparator)) {
      Path candidate = Path.of(dir, program);
      if (Files.isExecutable(candidate)) return candidate;
    }
    return null;
  }

  private static void finish(TestNode node, ApiClient api, Map<String, Object> body, String status) {
    ApiClient.Response r = api.postJson("/api/v1/runs", body);
    assertEquals(201, r.status(), r.body().toString());
    String runId = r.body().get("run_id").asText();
    node.eventually(Duration.ofSeconds(30), () ->
        assertEquals(status, api.get("/api/v1/runs/" + runId).body().get("status").asText()));
  }

  /** Sample names of a scrape. */
  private static Set<String> exported(String scrape) {
    Set<String> names = new TreeSet<>();
    for (String line : scrape.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) continue;
      int end = line.indexOf('{') >= 0 ? line.indexOf('{') : line.indexOf(' ');
      names.add(line.substring(0, end));
    }
    return names;
  }

  /** Metric name → the dashboards and rules that use it. */
  private static Map<String, List<String>> usedMetrics() throws Exception {
    Map<String, List<String>> used = new TreeMap<>();
    ObjectMapper json = new ObjectMapper();
    List<Path> dashboards;
    try (Stream<Path> files = Files.list(MONITORING.resolve("dashboards"))) {
      dashboards = files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
    assertEquals(5, dashboards.size(), "platform, runs, providers, cost, agents: " + dashboards);
    for (Path file : dashboards) {
      JsonNode board = json.readTree(file.toFile());
      assertTrue(board.hasNonNull("uid") && board.hasNonNull("title") && board.get("panels").size() > 0, file.toString());
      for (JsonNode panel : board.get("panels")) {
        for (JsonNode target : panel.get("targets")) collect(target.get("expr").asText(), file.getFileName() + ": "
            + panel.get("title").asText(), used);
      }
    }
    JsonNode rules = new ObjectMapper(new YAMLFactory()).readTree(MONITORING.resolve("alerts.yaml").toFile());
    List<String> alerts = new ArrayList<>();
    for (JsonNode group : rules.get("groups")) {
      for (JsonNode rule : group.get("rules")) {
        alerts.add(rule.get("alert").asText());
        assertTrue(rule.hasNonNull("for") && rule.at("/labels/severity").isTextual(), rule.toString());
        collect(rule.get("expr").asText(), "alerts.yaml: " + rule.get("alert").asText(), used);
      }
    }
    assertTrue(alerts.containsAll(List.of("OrreryAgentErrorRateHigh", "OrreryStepLatencyHigh",
        "OrreryWorkflowFailureRateHigh", "OrreryProviderCircuitOpen", "OrreryNodeDown", "OrreryJournalWritesSlow",
        "OrreryTenantBudgetOver80Percent", "OrreryTenantBudgetExhausted")),
        "the alerts operators rely on: " + alerts);
    return used;
  }

  private static void collect(String expr, String where, Map<String, List<String>> used) {
    // Label matchers and grouping clauses name labels, not metrics.
    String metricsOnly = expr.replaceAll("\\{[^}]*}", "")
        .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", "");
    Matcher m = METRIC.matcher(metricsOnly);
    while (m.find()) used.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(where);
  }
}
