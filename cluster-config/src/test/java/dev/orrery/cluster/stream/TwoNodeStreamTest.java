package dev.orrery.cluster.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.StreamClient;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two nodes of one cluster on one database: a WebSocket subscriber on node B follows a run that executes on
 * node A. It receives exactly the run's journal, ending with the terminal event, and token deltas, which
 * exist only live: they crossed from A's entity to B over the run's cluster topic.
 */
@ExtendWith(SharedPostgres.class)
class TwoNodeStreamTest {
  private static final int STEPS = 8;
  private static TestNode nodeA;
  private static TestNode nodeB;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    Map<String, Object> settings = new HashMap<>();
    // Slow calls: the run lasts a few seconds, well past the time the topic needs to reach node B.
    settings.put("orrery.llm.simulated.latency-ms", 500);
    // No shard moves between the nodes during the test: the run stays where it started.
    settings.put("pekko.cluster.sharding.rebalance-interval", "1h");
    // Two clusters' worth of JMX beans in one JVM.
    settings.put("pekko.cluster.jmx.multi-mbeans-in-same-jvm", "on");
    nodeA = TestNode.start(db, settings);
    nodeB = TestNode.startJoining(nodeA, db, settings);
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (nodeB != null) nodeB.close();
    } finally {
      if (nodeA != null) nodeA.close();
    }
  }

  @Test
  void subscriberOnOneNodeSeesARunExecutingOnTheOther() throws Exception {
    String runId = submitUntilHostedOnA();
    assertFalse(nodeB.hostsRun(runId), "the run is not on node B");

    StreamClient.Connection onB =
        StreamClient.webSocket(nodeB.api().baseUrl(), nodeB.api().bearer(), runId, 1, m -> false, true);
    String how = onB.closed.get(60, TimeUnit.SECONDS);
    assertTrue(how.startsWith("1000"), "the server ended the stream normally: " + how);

    nodeA.awaitFinished(runId, Duration.ofSeconds(30));
    List<JsonNode> journal = new ArrayList<>();
    nodeA.journal(runId).forEach(journal::add);
    List<JsonNode> events = onB.events();
    assertEquals(seqAndType(journal), seqAndType(events), "exactly the journal, in order, once");
    for (int i = 0; i < journal.size(); i++) {
      assertEquals(journal.get(i).get("data"), events.get(i).get("data"), "event " + (i + 1) + " as journaled");
    }
    assertEquals("RunCompleted", events.get(events.size() - 1).get("type").asText(), "ends with the end");
    long deltas = onB.messages.stream().filter(m -> "StepDelta".equals(m.path("type").asText())).count();
    assertTrue(deltas > 0, "token deltas, published only live on node A, reached the subscriber on node B");
    System.out.println("subscriber on node B: " + events.size() + " events, " + deltas + " deltas");
    onB.messages.stream().filter(m -> "StepDelta".equals(m.path("type").asText())).forEach(m -> assertTrue(
        runId.equals(m.path("run_id").asText()) && !m.has("seq") && m.path("ephemeral").asBoolean(),
        () -> "a delta is the run's, ephemeral and without a seq: " + m));
  }

  /** Submits the run until node A hosts it (cancelling those that landed on B), and returns its id. */
  private static String submitUntilHostedOnA() {
    for (int attempt = 0; attempt < 20; attempt++) {
      String runId = nodeA.submit(chain());
      if (nodeA.hostsRun(runId)) return runId;
      var cancelled = nodeA.api().postJson("/api/v1/runs/" + runId + "/cancel", Map.of("reason", "not on node A"));
      assertEquals(200, cancelled.status(), () -> "cancel: " + cancelled.body());
    }
    throw new AssertionError("20 runs in a row started on node B");
  }

  /** {@value #STEPS} LLM steps one after the other. */
  private static Map<String, Object> chain() {
    List<Map<String, Object>> nodes = new ArrayList<>();
    for (int i = 0; i < STEPS; i++) {
      Map<String, Object> node = new HashMap<>(Map.of("id", "s" + i, "type", "llm",
          "prompt", i == 0 ? "Open the story of {{inputs.topic}}" : "Continue: {{s" + (i - 1) + ".output}}"));
      nodes.add(node);
    }
    return Map.of(
        "workflow", Map.of("name", "chain", "version", 1, "inputs", Map.of("topic", Map.of("type", "string")),
            "nodes", nodes),
        "inputs", Map.of("topic", "orbits"));
  }

  private static List<String> seqAndType(List<JsonNode> events) {
    return events.stream().map(e -> e.get("seq").asLong() + " " + e.get("type").asText()).toList();
  }
}
