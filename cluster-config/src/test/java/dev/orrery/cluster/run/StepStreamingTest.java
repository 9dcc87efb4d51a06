package dev.orrery.cluster.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.core.run.RunEvent;
import dev.orrery.core.run.RunListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * With a listener that wants deltas (the live stream's), each LLM step streams: its text arrives in
 * pieces, in order, that concatenate to the persisted output, and none of the pieces is persisted.
 */
@ExtendWith(SharedPostgres.class)
class StepStreamingTest {
  private static final Map<String, ConcurrentLinkedQueue<String>> deltas = new ConcurrentHashMap<>();
  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    RunListener live = new RunListener() {
      @Override
      public void onPersisted(String tenantId, String runId, List<RunEvent> events) {}

      @Override
      public boolean wantsDeltas() {
        return true;
      }

      @Override
      public void onDelta(String tenantId, String runId, String nodeId, Integer item, int attempt, String text) {
        deltas.computeIfAbsent(runId + "/" + nodeId, k -> new ConcurrentLinkedQueue<>()).add(text);
      }
    };
    node = TestNode.start(db, Map.of(), Map.of(), live);
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.close();
  }

  @Test
  void stepsStreamTheirTextButPersistOnlyTheOutput() {
    String runId = node.submit(Map.of("workflow", Map.of("name", "streamed", "version", 1,
        "nodes", List.of(
            Map.of("id", "draft", "type", "llm", "prompt", "Draft a line about comets"),
            Map.of("id", "polish", "type", "llm", "prompt", "Polish: {{draft.output}}")))));
    JsonNode run = node.awaitFinished(runId, Duration.ofSeconds(30));
    assertEquals("SUCCEEDED", run.get("status").asText(), run.toString());
    for (String n : List.of("draft", "polish")) {
      List<String> pieces = new ArrayList<>(deltas.getOrDefault(runId + "/" + n, new ConcurrentLinkedQueue<>()));
      assertTrue(pieces.size() > 1, n + " streamed in pieces: " + pieces);
      assertEquals(run.at("/nodes/" + n + "/output").asText(), String.join("", pieces), "pieces make the output");
    }
    List<String> types = new ArrayList<>();
    node.journal(runId).forEach(e -> types.add(e.get("type").asText()));
    assertEquals(List.of("RunAccepted", "StepScheduled", "StepSucceeded", "StepScheduled", "StepSucceeded",
        "RunCompleted"), types, "deltas are ephemeral: the journal has only the run's decisions");
  }
}
