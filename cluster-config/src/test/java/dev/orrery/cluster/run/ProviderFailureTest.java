package dev.orrery.cluster.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Retries against a flaky provider: the simulated provider fails half of all calls. Which ones is a
 * function of its seed and each attempt's idempotency key, and that key contains the run's random id, so
 * the tests are sized for chance: 20 nodes make "no attempt failed" a one-in-a-million event, and 20
 * attempts per node make "a node ran out of attempts" about one in fifty thousand.
 */
@ExtendWith(SharedPostgres.class)
class ProviderFailureTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    // No retries inside the router, and a breaker that opens only when every call fails: the failures
    // must reach the run, whose own retries this class tests (the router's are tested in its module).
    node = TestNode.start(db, Map.of("orrery.llm.simulated.failure-rate", 0.5, "orrery.llm.simulated.seed", 7,
        "orrery.llm.env-defaults.simulated.max-retries", 0,
        "orrery.llm.env-defaults.simulated.breaker.failure-rate-threshold", 100));
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.close();
  }

  private static Map<String, Object> chain(int nodes, int maxAttempts) {
    List<Map<String, Object>> list = new ArrayList<>();
    for (int i = 0; i < nodes; i++) {
      list.add(Map.of("id", "n" + i, "type", "llm", "prompt", "Step " + i + (i == 0 ? "" : " after {{n" + (i - 1) + ".output}}")));
    }
    return Map.of("name", "flaky_chain", "version", 1,
        "policy", Map.of("retry", Map.of("max_attempts", maxAttempts, "backoff_ms", 10, "max_backoff_ms", 50)),
        "nodes", list);
  }

  @Test
  void failedAttemptsAreRetriedUntilTheRunSucceeds() {
    int nodes = 20;
    String runId = node.submit(Map.of("workflow", chain(nodes, 20)));
    JsonNode run = node.awaitFinished(runId, WAIT);
    assertEquals("SUCCEEDED", run.get("status").asText(), run.toString());

    JsonNode events = node.journal(runId);
    int failures = 0;
    int retries = 0;
    int successes = 0;
    for (JsonNode e : events) {
      switch (e.get("type").asText()) {
        case "StepFailed":
          failures++;
          assertEquals("PROVIDER_UNAVAILABLE", e.at("/data/error/code").asText());
          assertTrue(e.at("/data/retryable").asBoolean());
          break;
        case "StepRetryScheduled":
          retries++;
          break;
        case "StepSucceeded":
          successes++;
          break;
        default:
          break;
      }
    }
    assertTrue(failures > 0, "with a 50 % failure rate some attempt failed: " + events);
    assertEquals(failures, retries, "every failure was followed by a retry");
    assertEquals(nodes, successes, "each node succeeded exactly once");
    int attempts = 0;
    for (int i = 0; i < nodes; i++) attempts += run.at("/nodes/n" + i + "/attempts").asInt();
    assertEquals(nodes + failures, attempts, "attempts count every try");
  }

  @Test
  void exhaustedRetriesFailTheRunWithTheLastError() {
    // 40 nodes side by side with a single attempt each: at a 50 % failure rate one of them fails.
    List<Map<String, Object>> list = new ArrayList<>();
    for (int i = 0; i < 40; i++) list.add(Map.of("id", "p" + i, "type", "llm", "prompt", "Part " + i));
    String runId = node.submit(Map.of("workflow", Map.of("name", "fragile", "version", 1,
        "policy", Map.of("max_parallel", 4, "retry", Map.of("max_attempts", 1)), "nodes", list)));

    JsonNode run = node.awaitFinished(runId, WAIT);
    assertEquals("FAILED", run.get("status").asText(), run.toString());
    assertEquals("PROVIDER_UNAVAILABLE", run.at("/error/code").asText());
    String failedNode = run.at("/error/node_id").asText();
    assertEquals("FAILED", run.at("/nodes/" + failedNode + "/status").asText());
    assertTrue(run.at("/error/message").asText().contains("after 1 attempt"), run.get("error").toString());

    JsonNode events = node.journal(runId);
    JsonNode last = events.get(events.size() - 1);
    assertEquals("RunFailed", last.get("type").asText());
    boolean anyNotRun = false;
    for (JsonNode n : run.get("nodes")) {
      anyNotRun |= n.get("status").asText().equals("CANCELLED");
      assertTrue(!n.get("status").asText().equals("RUNNING") && !n.get("status").asText().equals("PENDING"),
          "no node is left running after the run failed: " + run.get("nodes"));
    }
    assertTrue(anyNotRun, "nodes that never ran are cancelled");
  }
}
