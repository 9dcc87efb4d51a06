package dev.orrery.cluster.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.edge.cli.EnvironmentDefaults;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code orrery runs submit, status, cancel, journal} against a real node, as a user sees them: what is
 * printed, and the exit code a script relies on. The node has three routes: {@code default} answers at once,
 * {@code broken} always fails, {@code held} never answers (for runs that must stay running).
 */
@ExtendWith(SharedPostgres.class)
class CliRunsTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static TestNode node;
  private static Cli user;

  @TempDir
  static Path files;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    node = TestNode.start(db, Map.of(
        "orrery.llm.providers", List.of(
            Map.of("name", "sim", "kind", "simulated"),
            Map.of("name", "sim-broken", "kind", "simulated", "max-retries", 0,
                "simulated", Map.of("failure-rate", 1.0)),
            Map.of("name", "sim-held", "kind", "simulated", "simulated", Map.of("latency-ms", 600_000))),
        "orrery.llm.routes.default.providers", List.of("sim"),
        "orrery.llm.routes.broken.providers", List.of("sim-broken"),
        "orrery.llm.routes.held.providers", List.of("sim-held")));
    user = Cli.of(node.api());
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.close();
  }

  private static Path workflow(String name, String yaml) throws IOException {
    return Files.writeString(files.resolve(name + ".yaml"), yaml);
  }

  private static Path haiku() throws IOException {
    return workflow("haiku", String.join("\n",
        "name: haiku",
        "version: 1",
        "inputs: {topic: {type: string}}",
        "nodes:",
        "  - {id: draft, type: llm, prompt: \"Write a haiku about {{inputs.topic}}\"}",
        "  - {id: critique, type: llm, prompt: \"Critique: {{draft.output}}\"}",
        ""));
  }

  private static Path failing() throws IOException {
    return workflow("failing", String.join("\n",
        "name: failing",
        "version: 1",
        "policy: {retry: {max_attempts: 1}}",
        "nodes:",
        "  - {id: doomed, type: llm, route: broken, prompt: \"This provider always fails\"}",
        ""));
  }

  private static Path held() throws IOException {
    return workflow("held", String.join("\n",
        "name: held",
        "version: 1",
        "nodes:",
        "  - {id: waits, type: llm, route: held, prompt: \"An answer that never comes\"}",
        ""));
  }

  @Test
  void submitWaitPrintsTheRunIdAndTheNodesAndExitsZeroWhenTheRunSucceeds() throws IOException {
    Cli.Result r = user.run("runs", "submit", haiku().toString(), "--input", "topic=comets", "--wait");

    assertEquals(0, r.exit(), r.toString());
    String runId = r.runId();
    assertTrue(r.out().contains("run " + runId + " accepted: haiku v1"), r.toString());
    assertTrue(r.out().contains("haiku v1  SUCCEEDED"), r.toString());
    assertTrue(r.out().contains("NODE") && r.out().lines().anyMatch(l -> l.startsWith("draft ") && l.contains("SUCCEEDED")),
        r.toString());
    JsonNode run = node.api().get("/api/v1/runs/" + runId).body();
    assertEquals("SUCCEEDED", run.get("status").asText());
    assertTrue(run.at("/nodes/draft/output").asText().contains("comets"), "the input reached the prompt: " + run);
  }

  @Test
  void submitWaitExitsOneAndShowsTheErrorWhenTheRunFails() throws IOException {
    Cli.Result r = user.run("runs", "submit", failing().toString(), "--wait");

    assertEquals(1, r.exit(), r.toString());
    assertTrue(r.out().contains("failing v1  FAILED"), r.toString());
    assertTrue(r.out().contains("error: PROVIDER_UNAVAILABLE"), r.toString());
    assertTrue(r.out().lines().anyMatch(l -> l.startsWith("doomed ") && l.contains("FAILED")), r.toString());
  }

  @Test
  void jsonOutputIsOneDocumentWithTheRunId() throws IOException {
    Cli.Result submitted = user.run("runs", "submit", haiku().toString(), "--input", "topic=tides", "--output", "json");
    assertEquals(0, submitted.exit(), submitted.toString());
    String runId = submitted.json().get("run_id").asText();
    assertEquals(200, node.api().get("/api/v1/runs/" + runId).status());

    node.awaitFinished(runId, WAIT);
    Cli.Result status = user.run("runs", "status", runId, "-o", "json");
    assertEquals(0, status.exit(), status.toString());
    assertEquals(runId, status.json().get("run_id").asText());
    assertEquals("SUCCEEDED", status.json().get("status").asText());

    Cli.Result waited = user.run("runs", "submit", haiku().toString(), "--input", "topic=moons", "--wait", "-o", "json");
    assertEquals(0, waited.exit(), waited.toString());
    assertEquals("SUCCEEDED", waited.json().get("status").asText(), "--wait prints the finished run: " + waited);
  }

  @Test
  void quietSubmitPrintsOnlyTheRunId() throws IOException {
    Cli.Result r = user.run("runs", "submit", "-q", haiku().toString(), "--input", "topic=stars");
    assertEquals(0, r.exit(), r.toString());
    String runId = r.out().strip();
    assertEquals(1, r.out().lines().count(), r.toString());
    assertEquals(200, node.api().get("/api/v1/runs/" + runId).status(), r.toString());
  }

  @Test
  void inputsComeFromTheFileAndTheFlagsAsJsonWhenTheyParse() throws IOException {
    Path workflow = workflow("typed", String.join("\n",
        "name: typed",
        "version: 1",
        "inputs: {name: {type: string}, count: {type: integer}, loud: {type: boolean}, tags: {type: array}}",
        "nodes:",
        "  - {id: greet, type: llm, prompt: \"Greet {{inputs.name}}\"}",
        ""));
    Path inputs = Files.writeString(files.resolve("inputs.yaml"), "name: Ada\ncount: 1\ntags: [a, b]\n");

    Cli.Result r = user.run("runs", "submit", workflow.toString(), "--inputs-file", inputs.toString(),
        "--input", "count=3", "--input", "loud=true", "-q", "--wait");

    assertEquals(0, r.exit(), r.toString());
    JsonNode accepted = node.journal(r.out().strip()).get(0).get("data").get("inputs");
    assertEquals("Ada", accepted.get("name").asText());
    assertEquals(3, accepted.get("count").asInt(), "--input wins over the file, as a number: " + accepted);
    assertTrue(accepted.get("loud").isBoolean(), accepted.toString());
    assertEquals(2, accepted.get("tags").size(), accepted.toString());
  }

  @Test
  void aBadKeyExitsThreeWithTheServersErrorCode() throws IOException {
    Cli badKey = Cli.withEnvironment(Map.of(EnvironmentDefaults.URL_VARIABLE, node.api().baseUrl(),
        EnvironmentDefaults.KEY_VARIABLE, "ork_demo.aaaaaaaaaaaa.not-a-real-secret"));

    Cli.Result r = badKey.run("runs", "submit", haiku().toString());

    assertEquals(3, r.exit(), r.toString());
    assertTrue(r.err().contains("UNAUTHENTICATED"), r.toString());
    assertTrue(r.out().isEmpty(), r.toString());

    Cli.Result flagWins = badKey.run("runs", "submit", haiku().toString(), "-q", "--input", "topic=keys",
        "--key", node.api().bearer());
    assertEquals(0, flagWins.exit(), "--key wins over ORRERY_API_KEY: " + flagWins);
  }

  @Test
  void anUnknownRunAndAnInvalidWorkflowAreRefusedWithTheirCodes() throws IOException {
    Cli.Result unknown = user.run("runs", "status", "no-such-run");
    assertEquals(3, unknown.exit(), unknown.toString());
    assertTrue(unknown.err().contains("NOT_FOUND"), unknown.toString());

    Path invalid = workflow("invalid", "name: invalid\nversion: 1\nnodes:\n  - {id: a, type: llm, prompt: \"{{b.output}}\", depends_on: [b]}\n");
    Cli.Result refused = user.run("runs", "submit", invalid.toString());
    assertEquals(3, refused.exit(), refused.toString());
    assertTrue(refused.err().contains("INVALID_REQUEST"), refused.toString());
    assertTrue(refused.err().lines().count() >= 2, "each problem on a line of its own: " + refused);

    Cli.Result json = user.run("runs", "status", "no-such-run", "--output", "json");
    assertEquals(3, json.exit(), json.toString());
    assertEquals("NOT_FOUND", json.json().at("/error/code").asText(), "the envelope on stdout for scripts");
  }

  @Test
  void aServerThatCannotBeReachedExitsFour() throws IOException {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    Cli.Result r = user.run("runs", "status", "some-run", "--url", "http://127.0.0.1:" + closedPort);
    assertEquals(4, r.exit(), r.toString());
    assertTrue(r.err().contains("cannot reach http://127.0.0.1:" + closedPort), r.toString());
  }

  @Test
  void usageErrorsExitTwo() throws IOException {
    assertEquals(2, user.run("runs", "submit").exit());
    assertEquals(2, user.run("runs", "submit", files.resolve("missing.yaml").toString()).exit());
    assertEquals(2, user.run("runs", "submit", haiku().toString(), "--budget", "0").exit());
    assertEquals(2, user.run("runs", "list", "--since", "yesterday-ish").exit());
    assertEquals(2, user.run("runs", "status", "x", "--output", "yaml").exit());
    assertEquals(2, user.run("runs", "status", "x", "--url", "not a url").exit());
  }

  @Test
  void statusShowsTheRunAndATableOfItsNodes() throws IOException {
    String runId = user.run("runs", "submit", "-q", haiku().toString(), "--input", "topic=rain", "--wait").out().strip();

    Cli.Result r = user.run("runs", "status", runId);

    assertEquals(0, r.exit(), r.toString());
    List<String> lines = r.out().lines().toList();
    assertEquals("run " + runId + "  haiku v1  SUCCEEDED", lines.get(0), r.toString());
    assertTrue(lines.get(1).contains("tokens") && lines.get(1).contains("cost $0."), r.toString());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("NODE") && l.contains("STATUS") && l.contains("COST")), r.toString());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("critique ") && l.contains("SUCCEEDED") && l.contains("sim-small")),
        r.toString());
  }

  @Test
  void cancelStopsARunningRunAndWaitThenExitsOne() throws Exception {
    Path held = held();
    String key = "cancel-me-" + System.nanoTime();
    CompletableFuture<Cli.Result> waiting = CompletableFuture.supplyAsync(() ->
        user.run("runs", "submit", held.toString(), "--wait", "--idempotency-key", key));
    // The same key names the same run: this is how a script finds the run another process submitted.
    String runId = user.run("runs", "submit", "-q", held.toString(), "--idempotency-key", key).out().strip();
    node.awaitStatus(runId, Set.of("RUNNING"), WAIT);

    Cli.Result cancelled = user.run("runs", "cancel", runId, "--reason", "no longer needed");
    assertEquals(0, cancelled.exit(), cancelled.toString());
    assertEquals("run " + runId + " CANCELLED", cancelled.out().strip());

    Cli.Result waited = waiting.get(30, TimeUnit.SECONDS);
    assertEquals(1, waited.exit(), "a cancelled run is not a success: " + waited);
    assertTrue(waited.out().contains("held v1  CANCELLED"), waited.toString());
    JsonNode last = lastEvent(runId);
    assertEquals("RunCancelled", last.get("type").asText());
    assertEquals("no longer needed", last.at("/data/reason").asText());
  }

  @Test
  void waitShowsProgressAndGivesUpAfterTheTimeoutWithExitFive() throws IOException {
    Cli.Result r = user.run("runs", "submit", held().toString(), "--wait", "--timeout", "1s", "--progress-every", "200ms");

    assertEquals(5, r.exit(), r.toString());
    String runId = r.runId();
    assertTrue(r.err().lines().anyMatch(l -> l.startsWith("run " + runId + " RUNNING ") && l.endsWith("nodes 0/1 done")),
        "progress lines on stderr while waiting: " + r);
    assertTrue(r.err().contains("timed out after") && r.err().contains(runId), r.toString());
    assertEquals("RUNNING", node.api().get("/api/v1/runs/" + runId).body().get("status").asText(), "the run goes on");
    assertEquals(0, user.run("runs", "cancel", runId).exit());

    Cli.Result json = user.run("runs", "submit", held().toString(), "--wait", "--timeout", "500ms", "-o", "json");
    assertEquals(5, json.exit(), json.toString());
    assertEquals("RUNNING", json.json().get("status").asText(), "a script still learns the run: " + json);
    assertEquals(0, user.run("runs", "cancel", json.json().get("run_id").asText()).exit());
  }

  @Test
  void journalListsTheEventsInOrderFromAGivenSequenceNumber() throws IOException {
    String runId = user.run("runs", "submit", "-q", haiku().toString(), "--input", "topic=snow", "--wait").out().strip();

    Cli.Result r = user.run("runs", "journal", runId);
    assertEquals(0, r.exit(), r.toString());
    List<String> lines = r.out().lines().toList();
    assertTrue(lines.get(0).startsWith("SEQ"), r.toString());
    assertTrue(lines.get(1).startsWith("1 ") && lines.get(1).contains("RunAccepted"), r.toString());
    assertTrue(lines.get(lines.size() - 1).contains("RunCompleted"), r.toString());
    assertTrue(lines.stream().anyMatch(l -> l.contains("StepSucceeded") && l.contains("draft")), r.toString());

    Cli.Result json = user.run("runs", "journal", runId, "--from-seq", "2", "-o", "json");
    assertEquals(0, json.exit(), json.toString());
    JsonNode events = json.json().get("events");
    assertEquals(2, events.get(0).get("seq").asLong());
    assertEquals(node.journal(runId).size() - 1, events.size());
  }

  @Test
  void helpListsTheEnvironmentAndTheExitCodes() {
    Cli.Result r = user.run("runs", "--help");
    assertEquals(0, r.exit(), r.toString());
    assertTrue(r.out().contains("ORRERY_API_KEY") && r.out().contains("Exit codes"), r.toString());
    Cli.Result submit = user.run("runs", "submit", "--help");
    assertTrue(submit.out().contains("--follow") && submit.out().contains("5   --timeout passed"), submit.toString());
  }

  private static JsonNode lastEvent(String runId) {
    JsonNode events = node.journal(runId);
    return events.get(events.size() - 1);
  }
}
