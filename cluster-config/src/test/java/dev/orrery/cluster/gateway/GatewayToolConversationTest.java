package dev.orrery.cluster.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.FakeOpenAi;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.router.fake.FakeProviderServer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A client of the OpenAI-compatible gateway that runs its own tool loop sends the model's tool calls
 * and the tools' results back; the gateway passes them on to the provider as the client wrote them.
 */
@ExtendWith(SharedPostgres.class)
class GatewayToolConversationTest {
  private static final FakeOpenAi fake = new FakeOpenAi();
  private static FakeProviderServer provider;
  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    provider = fake.server();
    provider.setRecording(true);
    node = fake.startNode(db);
  }

  @AfterAll
  static void stop() throws Exception {
    fake.close(node);
  }

  @Test
  void theGatewayPassesAClientsToolConversationOnToTheProvider() {
    Map<String, Object> call = Map.of("id", "call_7", "type", "function",
        "function", Map.of("name", "lookup", "arguments", "{\"q\": \"tides\"}"));
    Map<String, Object> body = Map.of("model", "default", "messages", List.of(
        Map.of("role", "user", "content", "What causes tides?"),
        Map.of("role", "assistant", "content", "", "tool_calls", List.of(call)),
        Map.of("role", "tool", "tool_call_id", "call_7", "content", "the moon")));
    ApiClient.Response r = node.api().postJson("/v1/chat/completions", body);
    assertEquals(200, r.status(), r.body().toString());
    JsonNode sent = provider.requests().get(provider.requests().size() - 1).json().get("messages");
    JsonNode assistant = sent.get(sent.size() - 2);
    assertEquals("call_7", assistant.at("/tool_calls/0/id").asText(), sent.toString());
    assertEquals("lookup", assistant.at("/tool_calls/0/function/name").asText(), sent.toString());
    assertEquals("call_7", sent.get(sent.size() - 1).get("tool_call_id").asText(), sent.toString());
    ApiClient.Response bad = node.api().postJson("/v1/chat/completions", Map.of("model", "default", "messages",
        List.of(Map.of("role", "assistant", "content", "", "tool_calls", List.of(Map.of("type", "function"))))));
    assertEquals(400, bad.status(), bad.body().toString());
  }
}
