package dev.orrery.cluster.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.FakeOpenAi;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.core.port.ToolCall;
import dev.orrery.router.fake.CannedAnswer;
import dev.orrery.router.fake.FakeProviderServer;
import dev.orrery.router.fake.RecordedRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Agents through the API of a real node on PostgreSQL, against the fake provider speaking the OpenAI
 * wire: versions per tenant, the execute contract, a tool conversation, a continued conversation, and
 * refusals in the error envelope.
 */
@ExtendWith(SharedPostgres.class)
class AgentApiTest {
  private static final FakeOpenAi fake = new FakeOpenAi();
  private static final AtomicInteger IDS = new AtomicInteger();
  private static final TestTools tools = new TestTools();
  private static FakeProviderServer provider;
  private static TestNode node;

  private static final String ECHOER = """
      name: echoer
      category: testing
      description: Echoes things and reports them.
      system_prompt: Use the echo tool, then report what it said.
      tools: [echo]
      input_schema: {type: object, properties: {topic: {type: string}}}
      output_schema: {type: object, properties: {report: {type: string}}, required: [report]}
      max_iterations: 3
      """;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    provider = fake.server();
    node = TestNode.start(db, FakeOpenAi.NO_RETRIES, fake.env(), null, tools);
  }

  @AfterAll
  static void stop() throws Exception {
    fake.close(node);
  }

  @BeforeEach
  void reset() {
    provider.setRecording(true);
    provider.clearRequests();
    tools.clear();
  }

  @Test
  void everyTenantSeesTheBundledExamples() {
    for (ApiClient client : List.of(node.api(), tenant("viewer"))) {
      JsonNode agents = ok(client.get("/api/v1/agents")).get("agents");
      assertTrue(agents.size() >= 10, agents.toString());
      JsonNode triage = find(agents, "support_triage");
      assertEquals("support", triage.get("category").asText());
      assertEquals(1, triage.get("version").asInt());
      assertFalse(triage.get("description").asText().isBlank());
    }
  }

  @Test
  void creatingADefinitionMakesTheNextVersionOfItsTenantOnly() {
    ApiClient a = tenant("developer");
    ApiClient b = tenant("developer");

    ApiClient.Response v1 = a.post("/api/v1/agents", "name: notes\nsystem_prompt: Take notes.\ncategory: office\n",
        "application/yaml", Map.of());
    assertEquals(201, v1.status(), v1.body().toString());
    assertEquals(1, v1.body().get("version").asInt());
    assertTrue(v1.body().get("active").asBoolean());
    ApiClient.Response v2 = a.postJson("/api/v1/agents",
        Map.of("name", "notes", "system_prompt", "Take short notes.", "category", "office", "temperature", 0.2));
    assertEquals(201, v2.status(), v2.body().toString());
    assertEquals(2, v2.body().get("version").asInt());

    JsonNode versions = ok(a.get("/api/v1/agents/notes/versions"));
    assertEquals(2, versions.get("active_version").asInt());
    assertEquals(2, versions.get("versions").size());
    assertEquals("Take short notes.", versions.at("/versions/1/definition/system_prompt").asText());
    assertEquals(2, find(ok(a.get("/api/v1/agents")).get("agents"), "notes").get("version").asInt());

    assertEquals(404, b.get("/api/v1/agents/notes/versions").status(), "B does not see A's agent");
    assertTrue(ok(b.get("/api/v1/agents")).get("agents").findValuesAsText("name").stream()
        .noneMatch("notes"::equals));
    ApiClient.Response bExecute = b.postJson("/api/v1/agents/notes/execute", Map.of("task_description", "hi"));
    assertEquals(404, bExecute.status(), bExecute.body().toString());
    assertEquals("NOT_FOUND", bExecute.errorCode());

    // A bundled name continues after the bundled version, for that tenant only.
    ApiClient.Response ownTriage = b.postJson("/api/v1/agents",
        Map.of("name", "support_triage", "system_prompt", "Our own triage.", "category", "support"));
    assertEquals(2, ownTriage.body().get("version").asInt(), ownTriage.body().toString());
    JsonNode bundled = ok(b.get("/api/v1/agents/support_triage/versions")).get("versions");
    assertTrue(bundled.get(0).get("bundled").asBoolean());
    assertEquals(1, find(ok(a.get("/api/v1/agents")).get("agents"), "support_triage").get("version").asInt());
  }

  @Test
  void anInvalidDefinitionIsRefusedNamingTheField() {
    ApiClient.Response r = tenant("developer").post("/api/v1/agents",
        "name: broken\nsystem_prompt: p\nmax_iterations: 0\ntemprature: 1\n", "application/yaml", Map.of());
    assertEquals(400, r.status(), r.body().toString());
    assertEquals("INVALID_REQUEST", r.errorCode());
    String problems = r.body().at("/error/details/problems").toString();
    assertTrue(problems.contains("unknown field 'temprature'"), problems);
    assertTrue(problems.contains("'max_iterations' must be an integer from 1 to 50"), problems);
  }

  @Test
  void executeRunsAToolConversationAndAnswersWithTheContract() {
    ApiClient dev = tenant("developer");
    assertEquals(201, dev.post("/api/v1/agents", ECHOER, "application/yaml", Map.of()).status());
    provider.enqueueAnswers(
        CannedAnswer.toolCalls(new ToolCall("call_1", "echo", "{\"text\": \"tides\"}")),
        CannedAnswer.toolCalls(new ToolCall("call_2", "echo", "{\"text\": \"moon\"}"),
            new ToolCall("call_3", "echo", "{\"text\": \"sun\"}")),
        CannedAnswer.text("{\"report\": \"tides, moon and sun\"}"));

    ApiClient.Response r = dev.postJson("/api/v1/agents/echoer/execute",
        Map.of("task_description", "Echo the causes of tides", "context", Map.of("topic", "tides")));

    assertEquals(200, r.status(), r.body().toString());
    JsonNode body = r.body();
    assertEquals("tides, moon and sun", body.at("/result/report").asText());
    JsonNode metadata = body.get("metadata");
    assertEquals("echoer", metadata.get("agent_id").asText());
    assertEquals(1, metadata.get("version").asInt());
    assertTrue(metadata.get("model").isTextual(), metadata.toString());
    assertTrue(metadata.get("provider").isTextual(), metadata.toString());
    assertTrue(metadata.get("tokens_used").asLong() > 0, metadata.toString());
    assertTrue(metadata.get("timestamp").isTextual(), metadata.toString());
    assertEquals(3, metadata.get("tool_calls").asInt());
    assertTrue(body.get("processing_time_ms").isIntegralNumber(), body.toString());

    assertEquals(List.of("tides", "moon", "sun"), tools.calls("echo").stream()
        .map(c -> c.arguments().replaceAll(".*\"text\": \"([a-z]+)\".*", "$1")).toList());
    String instance = metadata.get("instance_id").asText();
    assertEquals(instance + "/1/2/tool/call_3", tools.calls().get(2).key());
    List<RecordedRequest> requests = provider.requests();
    assertEquals(3, requests.size());
    assertEquals("echo", requests.get(0).json().at("/tools/0/function/name").asText());
    JsonNode last = requests.get(2).json().get("messages");
    assertEquals("tool", last.get(last.size() - 1).get("role").asText());
    assertEquals("echo: sun", last.get(last.size() - 1).get("content").asText());
  }

  @Test
  void aConversationContinuesByInstanceId() {
    ApiClient dev = tenant("developer");
    dev.postJson("/api/v1/agents", Map.of("name", "chat", "system_prompt", "Be brief."));
    provider.enqueueAnswers(CannedAnswer.text("Paris."), CannedAnswer.text("About two million."));

    JsonNode first = ok(dev.postJson("/api/v1/agents/chat/execute", Map.of("task_description", "Capital of France?")));
    String instance = first.at("/metadata/instance_id").asText();
    JsonNode second = ok(dev.postJson("/api/v1/agents/chat/execute",
        Map.of("task_description", "Its population?", "instance_id", instance)));

    assertEquals("About two million.", second.get("result").asText());
    assertEquals(instance, second.at("/metadata/instance_id").asText());
    JsonNode messages = provider.requests().get(1).json().get("messages");
    assertEquals(4, messages.size(), messages.toString());
    assertEquals("Paris.", messages.get(2).get("content").asText());
    // Another tenant naming the same instance id gets its own, empty instance.
    ApiClient other = tenant("developer");
    other.postJson("/api/v1/agents", Map.of("name", "chat", "system_prompt", "Be brief."));
    provider.enqueueAnswers(CannedAnswer.text("Which city?"));
    ok(other.postJson("/api/v1/agents/chat/execute", Map.of("task_description", "Its population?",
        "instance_id", instance)));
    assertEquals(2, provider.requests().get(2).json().get("messages").size(), "nothing of A's conversation");
  }

  @Test
  void aRetryWithTheSameIdempotencyKeyGetsTheSameAnswerWithoutRunningAgain() {
    ApiClient dev = tenant("developer");
    dev.postJson("/api/v1/agents", Map.of("name", "chat", "system_prompt", "Be brief."));
    provider.enqueueAnswers(CannedAnswer.text("Once."));
    Map<String, String> key = Map.of("Idempotency-Key", "ask-1");

    JsonNode first = ok(dev.postJson("/api/v1/agents/chat/execute", Map.of("task_description", "Say it"), key));
    JsonNode again = ok(dev.postJson("/api/v1/agents/chat/execute", Map.of("task_description", "Say it"), key));

    assertEquals(first.get("result"), again.get("result"));
    assertEquals(first.at("/metadata/invocation_id"), again.at("/metadata/invocation_id"));
    assertEquals(1, provider.requests().size());
  }

  @Test
  void badExecutionsAreRefusedInTheEnvelope() {
    ApiClient dev = tenant("developer");
    dev.post("/api/v1/agents", ECHOER, "application/yaml", Map.of());

    ApiClient.Response unknown = dev.postJson("/api/v1/agents/nobody/execute", Map.of("task_description", "x"));
    assertEquals(404, unknown.status());
    assertEquals("NOT_FOUND", unknown.errorCode());
    ApiClient.Response noTask = dev.postJson("/api/v1/agents/echoer/execute", Map.of("context", Map.of()));
    assertEquals(400, noTask.status());
    assertTrue(noTask.body().at("/error/message").asText().contains("task_description"), noTask.body().toString());
    ApiClient.Response badContext = dev.postJson("/api/v1/agents/echoer/execute",
        Map.of("task_description", "x", "context", Map.of("topic", 42)));
    assertEquals(400, badContext.status(), badContext.body().toString());
    assertTrue(badContext.body().at("/error/message").asText().contains("input_schema"), badContext.body().toString());
    ApiClient.Response badVersion = dev.postJson("/api/v1/agents/echoer/execute",
        Map.of("task_description", "x", "version", 7));
    assertEquals(404, badVersion.status(), badVersion.body().toString());
    assertEquals(0, provider.requests().size(), "nothing reached the provider");
  }

  @Test
  void anAgentThatKeepsCallingToolsStopsAtMaxIterations() {
    ApiClient dev = tenant("developer");
    dev.post("/api/v1/agents", ECHOER, "application/yaml", Map.of());
    List<CannedAnswer> loop = new ArrayList<>();
    for (int i = 1; i <= 3; i++) loop.add(CannedAnswer.toolCalls(new ToolCall("c" + i, "echo", "{\"text\": \"again\"}")));
    provider.enqueueAnswers(loop.toArray(CannedAnswer[]::new));

    ApiClient.Response r = dev.postJson("/api/v1/agents/echoer/execute", Map.of("task_description", "Loop"));

    assertEquals(500, r.status(), r.body().toString());
    assertEquals("INTERNAL", r.errorCode());
    assertEquals("MAX_ITERATIONS", r.body().at("/error/details/reason").asText(), r.body().toString());
    assertEquals(3, r.body().at("/error/details/turns").asInt());
    assertTrue(r.body().at("/error/message").asText().contains("max_iterations (3)"), r.body().toString());
    assertEquals(2, tools.calls().size());
  }

  // ---- helpers -----------------------------------------------------------------------------------------

  private static ApiClient tenant(String role) {
    return node.newTenant("agents-" + IDS.incrementAndGet(), role);
  }

  private static JsonNode find(JsonNode agents, String name) {
    for (JsonNode a : agents) {
      if (a.get("name").asText().equals(name)) return a;
    }
    throw new AssertionError("no agent " + name + " in " + agents);
  }

  private static JsonNode ok(ApiClient.Response r) {
    assertEquals(200, r.status(), () -> r.raw().request().uri() + ": " + r.body());
    return r.body();
  }
}
