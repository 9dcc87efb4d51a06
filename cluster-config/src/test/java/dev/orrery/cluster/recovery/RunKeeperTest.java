package dev.orrery.cluster.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A run in flight resumes after a restart even when the cluster did not remember its entity (here:
 * remember-entities off, as for a shard whose remembered write was lost): the starting node reads the runs
 * list, wakes every unfinished run, and the run finishes with nobody asking for it — the test only reads
 * the runs list, which never touches a run's entity.
 */
@ExtendWith(SharedPostgres.class)
class RunKeeperTest {

  @Test
  void anUnrememberedRunInFlightResumesWhenANodeStarts(SharedPostgres.TestDatabase db) throws Exception {
    Map<String, Object> settings = Map.of(
        "pekko.cluster.sharding.remember-entities", "off",
        "orrery.llm.simulated.latency-ms", 1500,
        "orrery.run-keeper.delay", "500ms");
    TestNode first = TestNode.start(db, settings);
    String runId;
    String key = first.api().bearer();
    try {
      runId = first.submit(Map.of("workflow", Map.of("name", "kept", "version", 1, "nodes", List.of(
          Map.of("id", "one", "type", "llm", "prompt", "First"),
          Map.of("id", "two", "type", "llm", "prompt", "Then {{one.output}}")))));
      first.awaitStatus(runId, Set.of("RUNNING"), Duration.ofSeconds(30));
      first.eventually(Duration.ofSeconds(10), () -> assertEquals("RUNNING", listed(first.api(), runId, null),
          "listed as running when its node stops"));
    } finally {
      first.node().system().terminate();
      first.node().system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    try (TestNode second = TestNode.start(db, settings)) {
      second.eventually(Duration.ofSeconds(60), () -> assertEquals("SUCCEEDED", listed(second.api().as(key), runId,
          "SUCCEEDED"), "the run finished on the second node by itself"));
      // Its outputs are all there: the second node ran what the first had not finished.
      JsonNode run = second.api().as(key).get("/api/v1/runs/" + runId).body();
      assertEquals("SUCCEEDED", run.at("/nodes/two/status").asText(), () -> "run: " + run);
    }
  }

  /** The run's status in the runs list (the read side), or null when it is not listed. */
  private static String listed(dev.orrery.cluster.testing.ApiClient api, String runId, String status) {
    var page = api.get("/api/v1/runs?limit=50" + (status == null ? "" : "&status=" + status));
    assertEquals(200, page.status(), () -> "list: " + page.body());
    for (JsonNode r : page.body().get("runs")) {
      if (runId.equals(r.get("run_id").asText())) return r.get("status").asText();
    }
    return null;
  }
}
