package dev.orrery.cluster.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.BuildDirectory;
import dev.orrery.cluster.testing.NodeProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * As an operator meets it: {@code orrery serve} in its own JVM on its embedded PostgreSQL, {@code kill -9}
 * mid-run (the postmaster is left behind, holding the data directory), then {@code orrery serve} again
 * on the same data directory. The new node takes over the orphaned database and the run completes, with
 * each step's success persisted exactly once.
 */
class NodeProcessKillTest {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  /** Only for its probes' awaitAssert: the nodes under test are other processes. */
  private static final ActorTestKit kit = ActorTestKit.create();

  @TempDir(factory = BuildDirectory.TempDirs.class) Path dataDir;

  @AfterAll
  static void stopKit() {
    kit.shutdownTestKit();
  }

  @Test
  void runCompletesAfterTheNodeIsKilledAndRestartedOnItsDataDirectory() throws Exception {
    int httpPort = NodeProcess.freePort();
    int clusterPort = NodeProcess.freePort();
    NodeProcess first = start(dataDir, httpPort, clusterPort);
    String demoKey = first.seen("Admin key of tenant demo (shown once, keep it): ");
    String runId;
    try {
      var api = new ApiClient("http://127.0.0.1:" + httpPort, demoKey);
      ApiClient.Response submitted = api.postJson("/api/v1/runs", RunRecoveryTest.workflow());
      assertEquals(201, submitted.status(), submitted.body().toString());
      runId = submitted.body().get("run_id").asText();
      awaitJournal(api, runId, events -> JournalAssertions.count(events, "StepSucceeded") >= 2, Duration.ofSeconds(30));
    } finally {
      first.kill9();
    }
    long orphan = postmasterPid(dataDir).orElseThrow(() -> new AssertionError("no postmaster.pid after kill -9"));
    assertTrue(ProcessHandle.of(orphan).map(ProcessHandle::isAlive).orElse(false),
        "kill -9 of the node leaves its PostgreSQL running");

    NodeProcess second = start(dataDir, httpPort, clusterPort);
    try {
      assertFalse(ProcessHandle.of(orphan).map(ProcessHandle::isAlive).orElse(false), "the orphan was stopped");
      assertEquals(null, second.seenOrNull("Admin key of tenant demo"), "a restart mints no key");
      var api = new ApiClient("http://127.0.0.1:" + httpPort, demoKey);
      // Nobody asks for the run: the node restarts runs in flight by itself.
      JsonNode events = awaitJournal(api, runId, e -> JournalAssertions.count(e, "RunCompleted") == 1,
          Duration.ofSeconds(60));
      JournalAssertions.assertEachStepSucceededOnce(events, RunRecoveryTest.STEPS);
      assertEquals("SUCCEEDED", api.get("/api/v1/runs/" + runId).body().get("status").asText());
    } finally {
      second.terminate();
    }
    Optional<Long> after = postmasterPid(dataDir);
    assertTrue(after.isEmpty() || !ProcessHandle.of(after.get()).map(ProcessHandle::isAlive).orElse(false),
        "a node stopped with SIGTERM stops its PostgreSQL too");
  }

  private static JsonNode awaitJournal(ApiClient api, String runId, java.util.function.Predicate<JsonNode> done,
      Duration max) {
    var last = new java.util.concurrent.atomic.AtomicReference<JsonNode>();
    TestProbe<Object> probe = kit.createTestProbe();
    probe.awaitAssert(max, Duration.ofMillis(100), () -> {
      ApiClient.Response r = api.get("/api/v1/runs/" + runId + "/journal");
      assertEquals(200, r.status(), () -> r.body().toString());
      last.set(r.body().get("events"));
      assertTrue(done.test(last.get()), () -> "journal of " + runId + ": " + last.get());
      return null;
    });
    return last.get();
  }

  private static Optional<Long> postmasterPid(Path dataDir) throws IOException {
    Path pidFile = dataDir.resolve("pg").resolve("postmaster.pid");
    if (!Files.exists(pidFile)) return Optional.empty();
    List<String> lines = Files.readAllLines(pidFile);
    return lines.isEmpty() ? Optional.empty() : Optional.of(Long.parseLong(lines.get(0).trim()));
  }

  private static NodeProcess start(Path dataDir, int httpPort, int clusterPort) throws Exception {
    return NodeProcess.start("kill-test", List.of("serve", "--data-dir", dataDir.toString(), "--http-port",
            String.valueOf(httpPort), "--cluster-port", String.valueOf(clusterPort), "--management-port",
            String.valueOf(NodeProcess.freePort()), "--sim-latency-ms", "300"),
        Map.of(), List.of(), "Orrery is up", START_TIMEOUT);
  }
}
