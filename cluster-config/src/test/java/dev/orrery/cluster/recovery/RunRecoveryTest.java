package dev.orrery.cluster.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A node's actor system is terminated while steps are out; a new one on the same database finds the
 * runs by itself (remember-entities), re-dispatches the open steps, and completes every run with each
 * step's success persisted exactly once.
 */
@ExtendWith(SharedPostgres.class)
class RunRecoveryTest {
  private static final Map<String, Object> SLOW = Map.of("orrery.llm.simulated.latency-ms", 300);

  static Map<String, Object> workflow() {
    List<Map<String, Object>> nodes = new ArrayList<>();
    nodes.add(Map.of("id", "outline", "type", "llm", "prompt", "Outline {{inputs.topic}}"));
    nodes.add(Map.of("id", "sections", "type", "map", "over", "inputs.parts", "max_parallel", 2,
        "node", Map.of("type", "llm", "prompt", "Write {{item}} of {{outline.output}}")));
    nodes.add(Map.of("id", "edit", "type", "llm", "prompt", "Edit {{sections.output}}"));
    nodes.add(Map.of("id", "title", "type", "llm", "prompt", "Title for {{edit.output}}"));
    return Map.of("workflow", Map.of("name", "essay", "version", 1,
            "inputs", Map.of("topic", Map.of("type", "string"), "parts", Map.of("type", "array")),
            "nodes", nodes),
        "inputs", Map.of("topic", "orbits", "parts", List.of("intro", "middle", "end", "coda")));
  }

  static final int STEPS = 1 + 4 + 1 + 1;

  @Test
  void runsSurviveTheirNodeStoppingMidStep(SharedPostgres.TestDatabase db) throws Exception {
    List<String> runs = new ArrayList<>();
    TestNode first = TestNode.start(db, SLOW);
    try {
      for (int i = 0; i < 3; i++) runs.add(first.submit(workflow()));
      // Wait until the runs are mid-flight: some step done, others out with the provider.
      TestProbe.create(first.node().system()).awaitAssert(Duration.ofSeconds(20), () -> {
        for (String run : runs) {
          assertTrue(JournalAssertions.count(first.journal(run), "StepSucceeded") >= 2, "run " + run + " progressed");
        }
        return null;
      });
    } finally {
      // Not a drain: terminate the system with steps in flight.
      first.node().system().terminate();
      first.node().system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    long inFlight = 0;
    for (String run : runs) {
      if (JournalAssertions.count(fresh(db, run), "RunCompleted") == 0) inFlight++;
    }
    assertTrue(inFlight > 0, "the node stopped with runs in flight");

    try (TestNode second = TestNode.start(db, SLOW)) {
      for (String run : runs) {
        // Nobody asks for the runs: remember-entities brings them back, so wait on the journal.
        TestProbe.create(second.node().system()).awaitAssert(Duration.ofSeconds(30), () -> {
          assertEquals(1, JournalAssertions.count(second.journal(run), "RunCompleted"), "run " + run + " completed");
          return null;
        });
        JsonNode view = second.api().get("/api/v1/runs/" + run).body();
        assertEquals("SUCCEEDED", view.get("status").asText(), view.toString());
        JournalAssertions.assertEachStepSucceededOnce(second.journal(run), STEPS);
      }
    }
  }

  /** The journal straight from a short-lived node (the first node's system is gone). */
  private static JsonNode fresh(SharedPostgres.TestDatabase db, String run) throws Exception {
    try (var conn = java.sql.DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
        var st = conn.prepareStatement(
            "SELECT event_ser_manifest FROM event_journal WHERE persistence_id = ? ORDER BY sequence_number")) {
      st.setString(1, "run|demo|" + run);
      var out = dev.orrery.cluster.testing.ApiClient.json().createArrayNode();
      try (var rs = st.executeQuery()) {
        while (rs.next()) {
          String manifest = rs.getString(1);
          out.addObject().put("type", manifest.substring(manifest.lastIndexOf('$') + 1));
        }
      }
      return out;
    }
  }
}
