package dev.orrery.cluster.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.BuildDirectory;
import dev.orrery.cluster.testing.FakeOpenAi;
import dev.orrery.cluster.testing.NodeProcess;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code orrery serve} with {@code ORRERY_LOG_FORMAT=json}, as an operator runs it (its own JVM, the
 * product's logback.xml): every line is a JSON object, a run's lines carry its tenant, run and trace ids,
 * and neither the provider's API key nor the tenant's key ever appears. The prompt appears only where the
 * operator opted in ({@code ORRERY_LOG_PROMPTS=DEBUG}), and then only in the prompt logger's lines.
 */
@ExtendWith(SharedPostgres.class)
class JsonLogsTest {
  private static final String PROVIDER_KEY = "sk-test-do-not-log-4f1c2a";

  @ParameterizedTest(name = "prompts logged: {0}")
  @ValueSource(booleans = {false, true})
  void aRunsLinesCarryItsIdsAndNoSecret(boolean logPrompts, SharedPostgres.TestDatabase db) throws Exception {
    ActorTestKit kit = ActorTestKit.create();
    FakeOpenAi provider = new FakeOpenAi();
    NodeProcess node = null;
    String name = "json-logs-" + System.nanoTime();
    try {
      NodeProcess.Ports ports = NodeProcess.Ports.free();
      Map<String, String> env = new java.util.HashMap<>(Map.of(
          "ORRERY_LOG_FORMAT", "json",
          "ORRERY_DB_URL", db.jdbcUrl(), "ORRERY_DB_USER", db.user(), "ORRERY_DB_PASSWORD", db.password(),
          "ORRERY_DATA_DIR", BuildDirectory.newTempDirectory("orrery-json-logs").toString(),
          "ORRERY_ADMIN_KEY", TestNode.PLATFORM_KEY,
          "OPENAI_API_KEY", PROVIDER_KEY, "OPENAI_BASE_URL", provider.server().openAiBaseUrl()));
      if (logPrompts) env.put("ORRERY_LOG_PROMPTS", "DEBUG");
      node = NodeProcess.serve(name, ports, env,
          List.of("-Dlogback.configurationFile=" + Path.of("target", "classes", "logback.xml").toAbsolutePath()));
      ApiClient admin = new ApiClient(ports.httpUrl(), TestNode.PLATFORM_KEY);
      String tenant = logPrompts ? "prompts" : "logs"; // one database for both: a tenant each
      assertEquals(201, admin.postJson("/api/v1/tenants", Map.of("tenant_id", tenant, "name", tenant)).status());
      String key = TestNode.newKey(admin, tenant, "admin");
      ApiClient api = admin.as(key);
      String prompt = "PROMPT-BODY-" + System.nanoTime();
      // The caller's trace, which the run continues and its log lines name.
      String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      ApiClient.Response submitted = api.postJson("/api/v1/runs", Map.of("workflow", Map.of("name", "one",
          "version", 1, "nodes", List.of(Map.of("id", "greet", "type", "llm", "prompt", prompt)))),
          Map.of("traceparent", "00-" + traceId + "-00f067aa0ba902b7-01"));
      assertEquals(201, submitted.status(), submitted.body().toString());
      String runId = submitted.body().get("run_id").asText();
      kit.createTestProbe().awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
        assertEquals("SUCCEEDED", api.get("/api/v1/runs/" + runId).body().get("status").asText());
        return null;
      });
      node.terminate();

      List<String> lines = Files.readAllLines(BuildDirectory.path().resolve("node-logs").resolve(name + ".log"));
      ObjectMapper json = new ObjectMapper();
      boolean runLine = false;
      int promptLines = 0;
      int objects = 0;
      for (String line : lines) {
        assertFalse(line.contains(PROVIDER_KEY), "the provider's key is never logged: " + line);
        assertFalse(line.contains(key.substring(key.lastIndexOf('.') + 1)), "the tenant's key is never logged: " + line);
        if (!line.startsWith("{")) { // what the JVM itself prints, and orrery serve's console lines
          assertFalse(line.contains(prompt), "prompts are not printed: " + line);
          continue;
        }
        JsonNode entry = json.readTree(line);
        boolean promptLogger = "dev.orrery.prompts".equals(entry.path("loggerName").asText());
        if (line.contains(prompt)) {
          assertTrue(logPrompts && promptLogger, "a prompt is logged only where the operator opted in: " + line);
          assertEquals("DEBUG", entry.path("level").asText(), line);
          promptLines++;
        }
        objects++;
        assertTrue(entry.hasNonNull("level") && entry.hasNonNull("loggerName"), line);
        JsonNode mdc = entry.path("mdc");
        if (runId.equals(mdc.path("run_id").asText())) {
          runLine = true;
          assertEquals(tenant, mdc.path("tenant_id").asText(), line);
          assertEquals(traceId, mdc.path("trace_id").asText(), "the run's lines name its trace: " + line);
        }
      }
      assertTrue(objects > 20, "the node's log is JSON: " + objects + " objects of " + lines.size() + " lines");
      assertTrue(runLine, "a line of the run carries its ids");
      assertEquals(logPrompts ? 1 : 0, promptLines, "the step's prompt, once, where asked for");
    } finally {
      if (node != null) node.destroy();
      provider.close();
      kit.shutdownTestKit();
    }
  }
}
