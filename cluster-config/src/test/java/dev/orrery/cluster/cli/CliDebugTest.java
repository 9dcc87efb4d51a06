package dev.orrery.cluster.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The commands a developer reaches for after a run: {@code list}, {@code approve}, {@code replay} and
 * {@code fork}, against a real node, as a user sees them.
 */
@ExtendWith(SharedPostgres.class)
class CliDebugTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static TestNode node;
  private static Cli user;

  @TempDir
  static Path files;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    node = TestNode.start(db, Map.of());
    user = Cli.of(node.api());
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.close();
  }

  private static Path workflow(String name, String... lines) throws IOException {
    return Files.writeString(files.resolve(name + ".yaml"), String.join("\n", lines) + "\n");
  }

  private static Path haiku() throws IOException {
    return workflow("haiku",
        "name: haiku",
        "version: 1",
        "inputs: {topic: {type: string}}",
        "nodes:",
        "  - {id: draft, type: llm, prompt: \"Write a haiku about {{inputs.topic}}\"}",
        "  - {id: critique, type: llm, prompt: \"Critique: {{draft.output}}\"}");
  }

  private static Path reviewed() throws IOException {
    return workflow("reviewed",
        "name: reviewed",
        "version: 1",
        "nodes:",
        "  - {id: draft, type: llm, prompt: \"Draft a press release\"}",
        "  - {id: review, type: approval, prompt: \"Publish this? {{draft.output}}\"}",
        "  - {id: publish, type: llm, prompt: \"Publish {{draft.output}}\", depends_on: [review]}");
  }

  /** Submits with the CLI, waits for the run, and answers its id. */
  private static String finishedRun(String topic) throws IOException {
    Cli.Result r = user.run("runs", "submit", "-q", haiku().toString(), "--input", "topic=" + topic, "--wait");
    assertEquals(0, r.exit(), r.toString());
    return r.out().strip();
  }

  private static void eventually(Runnable assertion) {
    TestProbe<Object> probe = TestProbe.create(node.node().system());
    probe.awaitAssert(WAIT, Duration.ofMillis(100), () -> {
      assertion.run();
      return null;
    });
  }

  @Test
  void listShowsTheTenantsRunsAndFollowsThePages() throws IOException {
    List<String> ids = new ArrayList<>();
    for (String topic : List.of("tides", "moons", "comets")) ids.add(finishedRun(topic));

    eventually(() -> {
      Cli.Result r = user.run("runs", "list", "--status", "succeeded", "--since", "1h");
      assertEquals(0, r.exit(), r.toString());
      assertTrue(r.out().startsWith("RUN_ID"), r.toString());
      for (String id : ids) {
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith(id + " ") && l.contains("haiku") && l.contains("SUCCEEDED")),
            id + " listed: " + r);
      }
    });

    Cli.Result paged = user.run("runs", "list", "--limit", "1", "--all", "-o", "json");
    assertEquals(0, paged.exit(), paged.toString());
    List<String> listed = new ArrayList<>();
    paged.json().get("runs").forEach(run -> listed.add(run.get("run_id").asText()));
    assertTrue(listed.containsAll(ids), "--all follows next_cursor through one-run pages: " + listed);
    assertEquals(listed.size(), Set.copyOf(listed).size(), "no run twice: " + listed);

    Cli.Result onePage = user.run("runs", "list", "--limit", "1");
    assertTrue(onePage.out().contains("(more: --cursor "), "a page says how to get the next one: " + onePage);
  }

  @Test
  void approveLetsAWaitingRunGoOnAndFollowShowsTheDecision() throws Exception {
    String key = "approve-" + System.nanoTime();
    String file = reviewed().toString();
    CompletableFuture<Cli.Result> following = CompletableFuture.supplyAsync(() ->
        user.run("runs", "submit", file, "--idempotency-key", key, "--follow"));
    // The same key names the same run: how a second terminal finds the run the first one submitted.
    String runId = user.run("runs", "submit", "-q", file, "--idempotency-key", key).out().strip();
    node.awaitStatus(runId, Set.of("AWAITING_APPROVAL"), WAIT);

    Cli.Result waiting = user.run("runs", "status", runId);
    assertTrue(waiting.out().lines().anyMatch(l -> l.startsWith("review ") && l.contains("AWAITING_APPROVAL")),
        waiting.toString());

    Cli.Result approved = user.run("runs", "approve", runId, "review", "--comment", "ship it");
    assertEquals(0, approved.exit(), approved.toString());
    assertTrue(approved.out().startsWith("approved review of run " + runId), approved.toString());

    Cli.Result followed = following.get(30, TimeUnit.SECONDS);
    assertEquals(0, followed.exit(), followed.toString());
    assertTrue(followed.out().lines().anyMatch(l -> l.contains("review") && l.contains("ApprovalRequested")
        && l.contains("Publish this?")), followed.toString());
    assertTrue(followed.out().lines().anyMatch(l -> l.contains("review") && l.contains("ApprovalGranted")
        && l.contains("\"ship it\"")), followed.toString());
    assertTrue(followed.out().lines().anyMatch(l -> l.contains("publish") && l.contains("StepSucceeded")), followed.toString());
  }

  @Test
  void aDeniedApprovalFailsTheRunAndWaitExitsOne() throws Exception {
    String key = "deny-" + System.nanoTime();
    String file = reviewed().toString();
    CompletableFuture<Cli.Result> waiting = CompletableFuture.supplyAsync(() ->
        user.run("runs", "submit", file, "--idempotency-key", key, "--wait"));
    String runId = user.run("runs", "submit", "-q", file, "--idempotency-key", key).out().strip();
    node.awaitStatus(runId, Set.of("AWAITING_APPROVAL"), WAIT);

    Cli.Result denied = user.run("runs", "approve", runId, "review", "--deny", "--comment", "not yet", "-o", "json");
    assertEquals(0, denied.exit(), denied.toString());
    assertEquals(runId, denied.json().get("run_id").asText());

    Cli.Result waited = waiting.get(30, TimeUnit.SECONDS);
    assertEquals(1, waited.exit(), waited.toString());
    assertTrue(waited.out().contains("reviewed v1  FAILED"), waited.toString());

    Cli.Result again = user.run("runs", "approve", runId, "review");
    assertEquals(3, again.exit(), "a decided approval cannot be decided again: " + again);
  }

  @Test
  void replayPrintsATimelineAndSaysTheRunIsDeterministic() throws IOException {
    String runId = finishedRun("rain");
    int events = node.journal(runId).size();

    Cli.Result r = user.run("runs", "replay", runId);

    assertEquals(0, r.exit(), r.toString());
    List<String> lines = r.out().lines().toList();
    assertTrue(lines.get(0).contains("TIME") && lines.get(0).contains("EVENT") && lines.get(0).contains("COST"), r.toString());
    assertTrue(lines.get(1).contains("+0.000s") && lines.get(1).contains("RunAccepted"), r.toString());
    assertTrue(lines.stream().anyMatch(l -> l.contains("critique") && l.contains("StepSucceeded")
        && l.matches(".*StepSucceeded\\s+\\d+\\.\\d{3}s\\s+\\d+\\s+\\$0\\.\\d{6}.*")),
        "a step's line shows its duration, tokens and cost: " + r);
    assertEquals(1 + events + 1 + 1, lines.size(), "heading, one line per event, a blank line, the verdict: " + r);
    assertTrue(lines.get(lines.size() - 1).startsWith("deterministic ("), r.toString());

    Cli.Result json = user.run("runs", "replay", runId, "-o", "json");
    assertEquals(0, json.exit(), json.toString());
    assertTrue(json.json().get("deterministic").asBoolean(), json.toString());
  }

  @Test
  void forkPrintsTheNewRunWhichReusesTheNodesBeforeTheChosenOne() throws IOException {
    String original = finishedRun("snow");

    Cli.Result r = user.run("runs", "fork", original, "--node", "critique", "--prompt", "Critique harshly: {{draft.output}}",
        "--wait");

    assertEquals(0, r.exit(), r.toString());
    String fork = r.runId();
    assertNotEquals(original, fork);
    assertTrue(r.out().startsWith("run " + fork + " forked from " + original + " at critique"), r.toString());
    JsonNode run = node.api().get("/api/v1/runs/" + fork).body();
    assertEquals("SUCCEEDED", run.get("status").asText(), run.toString());
    assertTrue(run.at("/nodes/critique/output").asText().contains("Critique harshly"), run.toString());
    List<String> types = new ArrayList<>();
    node.journal(fork).forEach(e -> types.add(e.get("type").asText() + ":" + e.path("node_id").asText()));
    assertTrue(types.contains("NodeReused:draft"), "draft's recorded output is reused: " + types);

    Cli.Result json = user.run("runs", "fork", original, "--node", "draft", "--input", "topic=hail", "-o", "json");
    assertEquals(0, json.exit(), json.toString());
    assertNotEquals(original, json.json().get("run_id").asText());

    Cli.Result unknown = user.run("runs", "fork", original, "--node", "no_such_node");
    assertEquals(3, unknown.exit(), unknown.toString());
    assertTrue(unknown.err().startsWith("error: "), unknown.toString());
  }
}
