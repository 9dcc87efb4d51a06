package dev.orrery.cluster.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.StreamClient;
import dev.orrery.cluster.testing.TestNode;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The run's terminal event reaches a live subscriber over the topic, as the run persists it: the
 * periodic renewal (here an hour away) is only for what the topic lost, and the end of every run must
 * not wait for it.
 */
@ExtendWith(SharedPostgres.class)
class StreamEndsLiveTest {

  @Test
  void theTerminalEventArrivesLiveNotAtTheNextRenewal(SharedPostgres.TestDatabase db) throws Exception {
    try (TestNode node = TestNode.start(db, Map.of(
        "orrery.llm.simulated.latency-ms", 500,
        "orrery.stream.renew-interval", "1h"))) {
      String runId = node.submit(Map.of(
          "workflow", Map.of("name", "two", "version", 1, "nodes", List.of(
              Map.of("id", "a", "type", "llm", "prompt", "Say hello"),
              Map.of("id", "b", "type", "llm", "prompt", "Continue: {{a.output}}"))),
          "inputs", Map.of()));
      StreamClient.Connection c =
          StreamClient.webSocket(node.api().baseUrl(), node.api().bearer(), runId, 1, m -> false, true);
      String how = c.closed.get(30, TimeUnit.SECONDS);
      assertTrue(how.startsWith("1000"), how);
      List<JsonNode> events = c.events();
      assertEquals("RunCompleted", events.get(events.size() - 1).get("type").asText());
      assertEquals(node.journal(runId).size(), events.size(), "the whole journal");
    }
  }
}
