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
 * The live stream writes its JSON in ASCII (other characters escaped), which the node encodes once per
 * connection at a byte a character; a client reads the same text as the journal holds.
 */
@ExtendWith(SharedPostgres.class)
class StreamWireTextTest {
  private static final String TITLE = "Kepler’s “third law” — Ærø, 軌道, 🪐";

  @Test
  void textBeyondAsciiArrivesEscapedAndReadsTheSame(SharedPostgres.TestDatabase db) throws Exception {
    try (TestNode node = TestNode.start(db, Map.of("orrery.llm.simulated.latency-ms", 200))) {
      String runId = node.submit(Map.of(
          "workflow", Map.of("name", "wire", "version", 1,
              "inputs", Map.of("title", Map.of("type", "string")),
              "nodes", List.of(Map.of("id", "a", "type", "llm", "prompt", "Explain {{inputs.title}}"))),
          "inputs", Map.of("title", TITLE)));
      StreamClient.Connection c =
          StreamClient.webSocket(node.api().baseUrl(), node.api().bearer(), runId, 1, m -> false, true);
      assertTrue(c.closed.get(30, TimeUnit.SECONDS).startsWith("1000"));

      for (String text : c.texts) {
        assertTrue(text.chars().allMatch(ch -> ch < 128), () -> "ASCII on the wire: " + text);
      }
      JsonNode accepted = c.events().get(0);
      assertEquals("RunAccepted", accepted.get("type").asText());
      assertEquals(TITLE, accepted.at("/data/inputs/title").asText(), accepted::toString);
      // Every event reads as the journal has it, non-ASCII text included.
      assertEquals(node.journal(runId), new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(c.events()));
    }
  }
}
