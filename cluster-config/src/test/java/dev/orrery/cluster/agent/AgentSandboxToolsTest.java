package dev.orrery.cluster.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * An agent on a node with its real tool sandbox: the model (the fake OpenAI provider, scripted) asks for
 * the WASM calculator and a sandboxed python snippet in parallel, the node runs both, and the model reads
 * their real outputs; a snippet that fails is reported to the model rather than ending the task.
 */
@ExtendWith(SharedPostgres.class)
class AgentSandboxToolsTest {
  private static final FakeOpenAi fake = new FakeOpenAi();
  private static FakeProviderServer provider;
  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    provider = fake.server();
    node = fake.startNode(db);
  }

  @AfterAll
  static void stop() throws Exception {
    fake.close(node);
  }

  @Test
  void anAgentCallsTheSandboxedToolsAndReadsTheirOutputs() throws Exception {
    ApiClient dev = node.api();
    ApiClient.Response created = dev.post("/api/v1/agents", """
        name: numbers
        category: data-analysis
        description: Works things out with the calculator and python.
        system_prompt: Use the tools, then answer with the numbers.
        tools: [calculator, python]
        max_iterations: 4
        """, "application/yaml", Map.of());
    assertEquals(201, created.status(), created.body().toString());
    provider.setRecording(true);
    provider.clearRequests();
    provider.enqueueAnswers(
        CannedAnswer.toolCalls(new ToolCall("c1", "calculator", "{\"expression\": \"6 * 7\"}"),
            new ToolCall("c2", "python", "{\"code\": \"print(sum(range(10)))\"}")),
        CannedAnswer.toolCalls(new ToolCall("c3", "python", "{\"code\": \"raise SystemExit(5)\"}")),
        CannedAnswer.text("42 and 45"));

    ApiClient.Response r = dev.postJson("/api/v1/agents/numbers/execute", Map.of("task_description", "Two sums"));
    assertEquals(200, r.status(), r.body().toString());
    assertEquals("42 and 45", r.body().get("result").asText());
    assertEquals(3, r.body().at("/metadata/tool_calls").asInt(), r.body().toString());

    List<RecordedRequest> requests = provider.requests();
    assertEquals(3, requests.size());
    List<String> offered = List.of(requests.get(0).json().at("/tools/0/function/name").asText(),
        requests.get(0).json().at("/tools/1/function/name").asText());
    assertEquals(List.of("calculator", "python"), offered, "the sandbox's own tool specs are offered");
    JsonNode second = requests.get(1).json().get("messages");
    assertEquals("42", toolAnswer(second, "c1").strip(), "the WASM calculator really ran");
    assertEquals("45", toolAnswer(second, "c2").strip(), "the python snippet really ran, sandboxed");
    JsonNode third = requests.get(2).json().get("messages");
    assertTrue(toolAnswer(third, "c3").contains("EXIT_CODE"), "a failed snippet is told to the model: " + third);
  }

  private static String toolAnswer(JsonNode messages, String callId) {
    for (JsonNode m : messages) {
      if ("tool".equals(m.path("role").asText()) && callId.equals(m.path("tool_call_id").asText())) {
        return m.path("content").asText();
      }
    }
    throw new AssertionError("no answer to " + callId + " in " + messages);
  }
}
