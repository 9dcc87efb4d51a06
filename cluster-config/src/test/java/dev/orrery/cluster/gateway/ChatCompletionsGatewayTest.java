package dev.orrery.cluster.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The OpenAI-compatible gateway over real HTTP, in OpenAI's shapes, on a node with the simulated provider. */
@ExtendWith(SharedPostgres.class)
class ChatCompletionsGatewayTest {
  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    node = TestNode.start(db, Map.of());
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.close();
  }

  private static Map<String, Object> ask(String text, boolean stream) {
    return Map.of("model", "default", "stream", stream, "stream_options", Map.of("include_usage", true),
        "messages", List.of(Map.of("role", "system", "content", "Be brief."), Map.of("role", "user", "content", text)));
  }

  @Test
  void modelsListTheRoutesAndTheServedModels() {
    ApiClient.Response r = node.api().get("/v1/models");
    assertEquals(200, r.status());
    assertEquals("list", r.body().get("object").asText());
    List<String> ids = new ArrayList<>();
    r.body().get("data").forEach(m -> ids.add(m.get("id").asText()));
    assertTrue(ids.contains("default") && ids.contains("sim-small"), ids.toString());
  }

  @Test
  void aCompletionHasOpenAisShapeAndUsage() {
    ApiClient.Response r = node.api().postJson("/v1/chat/completions", ask("Name three moons", false));
    assertEquals(200, r.status(), r.body().toString());
    assertEquals("chat.completion", r.body().get("object").asText());
    JsonNode choice = r.body().at("/choices/0");
    assertEquals("assistant", choice.at("/message/role").asText());
    assertTrue(choice.at("/message/content").asText().contains("Name three moons"), choice.toString());
    assertEquals("stop", choice.get("finish_reason").asText());
    JsonNode usage = r.body().get("usage");
    assertEquals(usage.get("prompt_tokens").asLong() + usage.get("completion_tokens").asLong(),
        usage.get("total_tokens").asLong());
  }

  @Test
  void aStreamSendsChunksThenUsageThenDone() {
    var raw = node.api().post("/v1/chat/completions", ApiClient.json().valueToTree(ask("Stream please", true)).toString(),
        "application/json", Map.of()).raw();
    assertEquals(200, raw.statusCode());
    assertTrue(raw.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    List<String> data = new ArrayList<>();
    for (String line : raw.body().split("\n")) if (line.startsWith("data: ")) data.add(line.substring(6));
    assertEquals("[DONE]", data.get(data.size() - 1));
    StringBuilder text = new StringBuilder();
    JsonNode usage = null;
    String finish = null;
    for (String d : data.subList(0, data.size() - 1)) {
      JsonNode chunk = readJson(d);
      assertEquals("chat.completion.chunk", chunk.get("object").asText());
      if (chunk.get("choices").size() > 0) {
        text.append(chunk.at("/choices/0/delta/content").asText(""));
        if (!chunk.at("/choices/0/finish_reason").isNull()) finish = chunk.at("/choices/0/finish_reason").asText();
      }
      if (chunk.has("usage")) usage = chunk.get("usage");
    }
    assertTrue(text.toString().contains("Stream please"), text.toString());
    assertEquals("stop", finish);
    assertTrue(usage != null && usage.get("completion_tokens").asLong() > 0, String.valueOf(usage));
  }

  @Test
  void errorsTakeOpenAisShape() {
    ApiClient.Response unknown = node.api().postJson("/v1/chat/completions",
        Map.of("model", "no-such-model", "messages", List.of(Map.of("role", "user", "content", "x"))));
    assertEquals(404, unknown.status());
    assertEquals("model_not_found", unknown.body().at("/error/code").asText());
    assertEquals("invalid_request_error", unknown.body().at("/error/type").asText());

    ApiClient.Response malformed = node.api().post("/v1/chat/completions", "{\"model\": ", "application/json", Map.of());
    assertEquals(400, malformed.status());
    assertTrue(malformed.body().at("/error/message").isTextual());

    ApiClient.Response noMessages = node.api().postJson("/v1/chat/completions", Map.of("model", "default"));
    assertEquals(400, noMessages.status());
    assertEquals("messages", noMessages.body().at("/error/param").asText());
  }

  private static JsonNode readJson(String text) {
    try {
      return ApiClient.json().readTree(text);
    } catch (java.io.IOException e) {
      throw new AssertionError("not JSON: " + text, e);
    }
  }
}
