package dev.orrery.cluster.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.StreamClient;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.core.stream.RunTopics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Many subscribers to one run, and one that does not keep up. A thousand WebSockets on one node each
 * receive exactly the run's journal, in order, ending with the terminal event, live token deltas
 * included. A client that stops reading is given up once it falls further behind than the node's buffer:
 * the node forgets it while the run goes on, and the client, when it reads again, finds the reason last.
 */
@ExtendWith(SharedPostgres.class)
class StreamFanOutTest {
  private static final int SUBSCRIBERS = 1_000;
  /** Opened at once: more than the server's accept backlog would wait for SYN retries. */
  private static final int OPENING_AT_ONCE = 50;
  private static final int STEPS = 4;

  @Test
  void aThousandSubscribersEachReceiveTheWholeRunOnceAndInOrder(SharedPostgres.TestDatabase db) throws Exception {
    try (TestNode node = TestNode.start(db, Map.of("orrery.llm.simulated.latency-ms", 300))) {
      // The run waits for budget until everyone is connected: its tenant may spend one token, and the run
      // pauses (rather than fails) when a call does not fit.
      ApiClient tenant = node.newTenant("fans", "admin");
      setTokenLimit(tenant, 1L);
      String runId = submit(tenant, chain(STEPS));
      TestProbe<Object> paused = TestProbe.create(node.node().system());
      paused.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
        assertTrue(seqAndType(journal(tenant, runId)).stream().anyMatch(e -> e.endsWith(" BudgetExhausted")));
        return null;
      });

      long t0 = System.nanoTime();
      List<StreamClient.Connection> subscribers = new ArrayList<>();
      for (int opened = 0; opened < SUBSCRIBERS; opened += OPENING_AT_ONCE) {
        List<CompletableFuture<StreamClient.Connection>> opening = new ArrayList<>();
        for (int i = opened; i < Math.min(SUBSCRIBERS, opened + OPENING_AT_ONCE); i++) {
          opening.add(StreamClient.webSocketAsync(tenant.baseUrl(), tenant.bearer(), runId, 1, m -> false, true));
        }
        for (var c : opening) subscribers.add(c.get(30, TimeUnit.SECONDS));
      }
      awaitSubscribers(node, SUBSCRIBERS);
      System.out.printf("%d subscribers connected in %d ms%n", SUBSCRIBERS, (System.nanoTime() - t0) / 1_000_000);
      setTokenLimit(tenant, null);

      TestProbe<Object> finished = TestProbe.create(node.node().system());
      List<String> journal = finished.awaitAssert(Duration.ofSeconds(60), Duration.ofMillis(200), () -> {
        List<String> events = seqAndType(journal(tenant, runId));
        assertTrue(events.get(events.size() - 1).endsWith(" RunCompleted"), () -> "the run completed: " + events);
        return events;
      });
      for (int i = 0; i < subscribers.size(); i++) {
        StreamClient.Connection c = subscribers.get(i);
        String how = c.closed.get(30, TimeUnit.SECONDS);
        int n = i;
        assertTrue(how.startsWith("1000"), () -> "subscriber " + n + " ended normally: " + how);
        assertEquals(journal, seqAndType(c.events()), "subscriber " + i + ": exactly the journal, in order, once");
        // Only the topic brings these: they are never in the journal.
        assertTrue(c.messages.stream().anyMatch(m -> "StepDelta".equals(m.path("type").asText())),
            () -> "subscriber " + n + " received live deltas");
      }
      awaitSubscribers(node, 0);
    }
  }

  private static void setTokenLimit(ApiClient admin, Long tokens) {
    Map<String, Object> budget = new HashMap<>();
    budget.put("period", "daily");
    budget.put("token_limit", tokens);
    ApiClient.Response r = admin.postJson("/api/v1/budgets", budget);
    assertEquals(200, r.status(), () -> "budget: " + r.body());
  }

  private static String submit(ApiClient client, Object body) {
    ApiClient.Response r = client.postJson("/api/v1/runs", body);
    assertEquals(201, r.status(), () -> "submit: " + r.body());
    return r.body().get("run_id").asText();
  }

  private static JsonNode journal(ApiClient client, String runId) {
    ApiClient.Response r = client.get("/api/v1/runs/" + runId + "/journal");
    assertEquals(200, r.status(), () -> "journal: " + r.body());
    return r.body().get("events");
  }

  @Test
  void aConsumerThatStopsReadingIsGivenUpWhileTheRunGoesOn() throws Exception {
    int buffer = 50;
    Map<String, Object> settings = new HashMap<>();
    settings.put("orrery.stream.buffer-size", buffer);
    settings.put("orrery.llm.simulated.latency-ms", 100);
    // A database of its own: this node has its own settings, and another node must not share a journal.
    try (TestNode node = TestNode.start(SharedPostgres.newDatabase(), settings)) {
      // Thousands of long answers over many seconds: far more than the buffer and the sockets' buffers hold.
      String runId = node.submit(fanOut(3_000, 20, 3_000));
      StreamClient.Connection stalled =
          StreamClient.webSocket(node.api().baseUrl(), node.api().bearer(), runId, 1, m -> false, false);
      awaitSubscribers(node, 1);
      awaitSubscribers(node, 0);
      assertEquals("RUNNING", node.api().get("/api/v1/runs/" + runId).body().path("status").asText(),
          "the node let go of the client while the run went on");

      stalled.socket.request(1);
      String how = stalled.closed.get(30, TimeUnit.SECONDS);
      JsonNode last = stalled.messages.get(stalled.messages.size() - 1);
      assertEquals("StreamClosed", last.path("type").asText(), () -> "the last message says why: " + last);
      assertTrue(last.path("data").path("reason").asText().contains("slow consumer"), last::toString);
      assertTrue(how.startsWith("1000"), () -> "then the server closed the WebSocket: " + how);
      assertTrue(stalled.messages.size() > buffer, "what was buffered came before: " + stalled.messages.size());

      node.api().postJson("/api/v1/runs/" + runId + "/cancel", Map.of("reason", "test over"));
      node.awaitFinished(runId, Duration.ofSeconds(30));
    }
  }

  private static void awaitSubscribers(TestNode node, int subscribers) {
    TestProbe<Object> probe = TestProbe.create(node.node().system());
    probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(50), () -> {
      RunTopics.Stats stats = node.streamStats();
      assertEquals(subscribers, stats.subscribers(), () -> "stream subscribers on the node: " + stats);
      return null;
    });
  }

  /** {@code steps} LLM steps one after the other, pausing while the budget does not allow a call. */
  private static Map<String, Object> chain(int steps) {
    List<Map<String, Object>> nodes = new ArrayList<>();
    nodes.add(Map.of("id", "s0", "type", "llm", "prompt", "Open the story of {{inputs.topic}}"));
    for (int i = 1; i < steps; i++) {
      nodes.add(Map.of("id", "s" + i, "type", "llm", "prompt", "Continue: {{s" + (i - 1) + ".output}}"));
    }
    return Map.of(
        "workflow", Map.of("name", "chain", "version", 1, "inputs", Map.of("topic", Map.of("type", "string")),
            "policy", Map.of("on_budget_exhausted", "pause"), "nodes", nodes),
        "inputs", Map.of("topic", "orbits"));
  }

  /** One LLM call per item, {@code parallel} at a time. */
  private static Map<String, Object> fanOut(int items, int parallel) {
    return fanOut(items, parallel, 0);
  }

  /** With {@code answerChars} > 0, every answer (and its streamed text) is at least that long. */
  private static Map<String, Object> fanOut(int items, int parallel, int answerChars) {
    List<String> topics = new ArrayList<>();
    for (int i = 0; i < items; i++) topics.add("a b c d e f g h i j k l m n o p q r s t u v w " + i);
    Map<String, Object> perItem = answerChars == 0 ? Map.of("type", "llm", "prompt", "{{item}}")
        : Map.of("type", "llm", "prompt", "{{item}}", "max_tokens", answerChars, "output_schema",
            Map.of("type", "object", "required", List.of("text"),
                "properties", Map.of("text", Map.of("type", "string", "minLength", answerChars))));
    return Map.of(
        "workflow", Map.of("name", "fan-out", "version", 1,
            "inputs", Map.of("topics", Map.of("type", "array")),
            "policy", Map.of("max_parallel", parallel),
            "nodes", List.of(Map.of("id", "each", "type", "map", "over", "inputs.topics", "node", perItem))),
        "inputs", Map.of("topics", topics));
  }

  private static List<String> seqAndType(Iterable<JsonNode> events) {
    List<String> out = new ArrayList<>();
    for (JsonNode e : events) out.add(e.get("seq").asLong() + " " + e.get("type").asText());
    return out;
  }
}
