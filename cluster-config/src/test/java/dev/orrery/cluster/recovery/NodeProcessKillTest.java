package dev.orrery.cluster.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.BuildDirectory;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
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
    int httpPort = freePort();
    int clusterPort = freePort();
    NodeProcess first = NodeProcess.start(dataDir, httpPort, clusterPort);
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

    NodeProcess second = NodeProcess.start(dataDir, httpPort, clusterPort);
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

  private static int freePort() throws IOException {
    try (var socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /** {@code orrery serve} in a JVM of its own, from the test classpath. */
  static final class NodeProcess {
    private final Process process;
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();

    private NodeProcess(Process process) {
      this.process = process;
      Thread reader = new Thread(() -> {
        try (var in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = in.readLine()) != null) {
            System.out.println("[node " + process.pid() + "] " + line);
            lines.add(line);
          }
        } catch (IOException ignored) {
          // the process died: that is what this test does to it
        }
      }, "node-output-" + process.pid());
      reader.setDaemon(true);
      reader.start();
    }

    static NodeProcess start(Path dataDir, int httpPort, int clusterPort) throws Exception {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      List<String> command = new ArrayList<>(List.of(java, "-Xmx512m",
          "-Djava.util.concurrent.ForkJoinPool.common.parallelism=2",
          "-cp", System.getProperty("java.class.path"), "dev.orrery.cluster.Main", "serve",
          "--data-dir", dataDir.toString(), "--http-port", String.valueOf(httpPort),
          "--cluster-port", String.valueOf(clusterPort), "--sim-latency-ms", "300"));
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      var node = new NodeProcess(p);
      node.awaitLine("Orrery is up", START_TIMEOUT);
      return node;
    }

    void awaitLine(String text, Duration max) throws InterruptedException {
      long deadline = System.nanoTime() + max.toNanos();
      while (System.nanoTime() < deadline) {
        String line = lines.poll(200, TimeUnit.MILLISECONDS);
        if (line != null) seen.add(line);
        if (line != null && line.contains(text)) return;
        if (line == null && !process.isAlive()) {
          throw new AssertionError("node exited with " + process.exitValue() + " before '" + text + "'");
        }
      }
      process.destroyForcibly();
      throw new AssertionError("node did not print '" + text + "' within " + max);
    }

    /** The rest of a line printed before the node was up that starts with {@code prefix}. */
    String seen(String prefix) {
      String rest = seenOrNull(prefix);
      if (rest == null) throw new AssertionError("the node did not print '" + prefix + "': " + seen);
      return rest;
    }

    String seenOrNull(String prefix) {
      for (String line : seen) {
        if (line.startsWith(prefix)) return line.substring(prefix.length()).strip();
      }
      return null;
    }

    void kill9() throws Exception {
      process.destroyForcibly();
      process.onExit().get(30, TimeUnit.SECONDS);
    }

    void terminate() throws Exception {
      process.destroy();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new AssertionError("node did not stop within 60 s of SIGTERM");
      }
    }
  }
}
