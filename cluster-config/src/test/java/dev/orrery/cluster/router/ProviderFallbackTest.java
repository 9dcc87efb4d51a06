package dev.orrery.cluster.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.router.fake.Fault;
import dev.orrery.router.fake.FakeProviderServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A node configured the way a user does it, by environment variables, with two real HTTP providers on
 * loopback: an OpenAI-compatible one that is down (503 for every call) and an Anthropic one that works.
 * Runs and gateway calls go through the router, fall back, and record who served them.
 */
@ExtendWith(SharedPostgres.class)
class ProviderFallbackTest {
  private static final ActorTestKit fakes = ActorTestKit.create();
  private static FakeProviderServer openAi;
  private static FakeProviderServer anthropic;
  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    openAi = FakeProviderServer.start(fakes.system());
    openAi.setDefault(Fault.unavailable());
    anthropic = FakeProviderServer.start(fakes.system());
    node = TestNode.start(db,
        Map.of("orrery.llm.provider-defaults.max-retries", 0,
            "orrery.llm.provider-defaults.breaker.minimum-calls", 2,
            "orrery.llm.provider-defaults.breaker.sliding-window", 4),
        Map.of("OPENAI_API_KEY", "test-key", "OPENAI_BASE_URL", openAi.openAiBaseUrl(),
            "ANTHROPIC_API_KEY", "test-key", "ANTHROPIC_BASE_URL", anthropic.anthropicBaseUrl()));
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (node != null) node.close();
    } finally {
      openAi.close();
      anthropic.close();
      fakes.shutdownTestKit();
    }
  }

  @Test
  void aWorkflowWhosePrimaryProviderIsDownCompletesOnTheFallback() {
    String runId = node.submit(Map.of("workflow", Map.of("name", "fallback", "version", 1,
        "nodes", List.of(
            Map.of("id", "first", "type", "llm", "prompt", "Outline the tides"),
            Map.of("id", "second", "type", "llm", "prompt", "Expand {{first.output}}")))));
    JsonNode run = node.awaitFinished(runId, Duration.ofSeconds(30));
    assertEquals("SUCCEEDED", run.get("status").asText(), run.toString());
    for (String n : List.of("first", "second")) {
      assertEquals("anthropic", run.at("/nodes/" + n + "/provider").asText(), run.toString());
      assertTrue(run.at("/nodes/" + n + "/output").asText().startsWith("echo:"), run.toString());
    }
    assertTrue(run.at("/usage/cost_micros").asLong() > 0, "priced from Anthropic's table: " + run.get("usage"));
    assertTrue(openAi.requestCount("/v1/chat/completions") >= 1, "the primary was tried first");

    List<JsonNode> successes = new ArrayList<>();
    node.journal(runId).forEach(e -> {
      if (e.get("type").asText().equals("StepSucceeded")) successes.add(e);
    });
    assertEquals(2, successes.size());
    JsonNode tried = successes.get(0).at("/data/tried");
    assertEquals("anthropic", tried.get(tried.size() - 1).asText(), "the journal records who served: " + tried);
    assertEquals("anthropic", successes.get(0).at("/data/provider").asText());
  }

  @Test
  void theGatewayStreamsThroughTheFallbackProvider() {
    var body = Map.of("model", "default", "stream", true,
        "messages", List.of(Map.of("role", "user", "content", "stream these words back")));
    var raw = node.api().post("/v1/chat/completions", ApiClient.json().valueToTree(body).toString(),
        "application/json", Map.of()).raw();
    assertEquals(200, raw.statusCode(), raw.body());
    StringBuilder text = new StringBuilder();
    int contentChunks = 0;
    for (String line : raw.body().split("\n")) {
      if (!line.startsWith("data: {")) continue;
      JsonNode chunk = read(line.substring(6));
      String piece = chunk.at("/choices/0/delta/content").asText("");
      if (!piece.isEmpty()) contentChunks++;
      text.append(piece);
    }
    assertEquals("echo: stream these words back", text.toString());
    assertTrue(contentChunks > 1, "the answer arrived in pieces, as the provider streamed it: " + raw.body());
    assertTrue(raw.body().strip().endsWith("data: [DONE]"));
  }

  @Test
  void theGatewayListsTheModelsOfEveryConfiguredProvider() {
    List<String> ids = new ArrayList<>();
    node.api().get("/v1/models").body().get("data").forEach(m -> ids.add(m.get("id").asText()));
    assertTrue(ids.contains("default") && ids.contains("gpt-4o-mini") && ids.contains("claude-3-5-haiku-latest"),
        ids.toString());
  }

  private static JsonNode read(String text) {
    try {
      return ApiClient.json().readTree(text);
    } catch (java.io.IOException e) {
      throw new AssertionError(text, e);
    }
  }
}
