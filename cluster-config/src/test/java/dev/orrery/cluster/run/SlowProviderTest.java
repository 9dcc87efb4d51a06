package dev.orrery.cluster.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Timeouts and cancellation against a provider that takes 1.5 s a call. */
@ExtendWith(SharedPostgres.class)
class SlowProviderTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    node = TestNode.start(db, Map.of("orrery.llm.simulated.latency-ms", 1500));
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.close();
  }

  @Test
  void aStepSlowerThanItsTimeoutFailsWithTimeoutAfterItsAttempts() {
    String runId = node.submit(Map.of("workflow", Map.of("name", "impatient", "version", 1,
        "policy", Map.of("retry", Map.of("max_attempts", 2, "backoff_ms", 10)),
        "nodes", List.of(Map.of("id", "quick", "type", "llm", "prompt", "Answer fast", "timeout_ms", 200)))));

    JsonNode run = node.awaitFinished(runId, WAIT);
    assertEquals("FAILED", run.get("status").asText(), run.toString());
    assertEquals("TIMEOUT", run.at("/error/code").asText());
    assertEquals(2, run.at("/nodes/quick/attempts").asInt());
    assertTrue(run.at("/error/message").asText().contains("in time"), run.get("error").toString());
  }

  @Test
  void aRunLongerThanItsTimeoutFailsWithTimeout() {
    String runId = node.submit(Map.of("workflow", Map.of("name", "deadline", "version", 1,
        "policy", Map.of("timeout_ms", 700),
        "nodes", List.of(
            Map.of("id", "one", "type", "llm", "prompt", "First"),
            Map.of("id", "two", "type", "llm", "prompt", "Then {{one.output}}")))));

    JsonNode run = node.awaitFinished(runId, WAIT);
    assertEquals("FAILED", run.get("status").asText(), run.toString());
    assertEquals("TIMEOUT", run.at("/error/code").asText());
    assertTrue(run.at("/error/message").asText().contains("run exceeded its timeout of 700 ms"));
    assertEquals("CANCELLED", run.at("/nodes/one/status").asText(), "the step in flight was stopped");
    assertEquals("CANCELLED", run.at("/nodes/two/status").asText());
  }

  @Test
  void cancelStopsStepsInFlightAndEndsTheRunCancelled() {
    String runId = node.submit(Map.of("workflow", Map.of("name", "to_cancel", "version", 1,
        "nodes", List.of(
            Map.of("id", "slow", "type", "llm", "prompt", "Take your time"),
            Map.of("id", "after", "type", "llm", "prompt", "Then {{slow.output}}")))));
    node.awaitStatus(runId, Set.of("RUNNING"), WAIT);

    ApiClient.Response cancelled = node.api().postJson("/api/v1/runs/" + runId + "/cancel", Map.of("reason", "changed my mind"));
    assertEquals(200, cancelled.status(), cancelled.body().toString());
    assertEquals("CANCELLED", cancelled.body().get("status").asText());
    assertEquals("CANCELLED", cancelled.body().at("/nodes/slow/status").asText());
    assertEquals("CANCELLED", cancelled.body().at("/nodes/after/status").asText());

    ApiClient.Response again = node.api().postJson("/api/v1/runs/" + runId + "/cancel", "");
    assertEquals(409, again.status());
    assertEquals("CONFLICT", again.errorCode());

    // The provider's late answer (after 1.5 s) must not resurrect the step: let it arrive, then look.
    TestProbe.create(node.node().system()).expectNoMessage(Duration.ofMillis(2000));
    JsonNode events = node.journal(runId);
    assertEquals("RunCancelled", events.get(events.size() - 1).get("type").asText(), events.toString());
    for (JsonNode e : events) {
      assertTrue(!e.get("type").asText().equals("StepSucceeded"), "nothing succeeded after the cancel: " + events);
    }
    assertEquals("changed my mind", events.get(events.size() - 1).at("/data/reason").asText());
  }
}
