package dev.orrery.cluster.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --follow} against a real node's live stream: the run as it happens, one line per event (or one
 * JSON message per line), ending with the run and the exit code its end deserves.
 */
@ExtendWith(SharedPostgres.class)
class CliFollowTest {
  private static TestNode node;
  private static Cli user;

  @TempDir
  static Path files;

  /** Steps take 300 ms on the default route, 1.5 s on {@code slow}; {@code held} never answers. */
  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    node = TestNode.start(db, Map.of(
        "orrery.llm.providers", List.of(
            Map.of("name", "sim", "kind", "simulated", "simulated", Map.of("latency-ms", 300)),
            Map.of("name", "sim-broken", "kind", "simulated", "max-retries", 0,
                "simulated", Map.of("failure-rate", 1.0)),
            Map.of("name", "sim-slow", "kind", "simulated", "simulated", Map.of("latency-ms", 1500)),
            Map.of("name", "sim-held", "kind", "simulated", "simulated", Map.of("latency-ms", 600_000))),
        "orrery.llm.routes.default.providers", List.of("sim"),
        "orrery.llm.routes.broken.providers", List.of("sim-broken"),
        "orrery.llm.routes.slow.providers", List.of("sim-slow"),
        "orrery.llm.routes.held.providers", List.of("sim-held")));
    user = Cli.of(node.api());
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.close();
  }

  private static Path workflow(String name, String... lines) throws IOException {
    return Files.writeString(files.resolve(name + ".yaml"), String.join("\n", lines) + "\n");
  }

  private static Path fanOut() throws IOException {
    return workflow("fan_out",
        "name: fan_out",
        "version: 1",
        "inputs: {topics: {type: array}}",
        "nodes:",
        "  - {id: intro, type: llm, prompt: \"Introduce the sky\"}",
        "  - id: per_topic",
        "    type: map",
        "    over: inputs.topics",
        "    depends_on: [intro]",
        "    node: {type: llm, prompt: \"Explain {{item}}\"}");
  }

  @Test
  void followShowsEachNodeStartingAndFinishingThenTheRunAndExitsZero() throws IOException {
    Cli.Result r = user.run("runs", "submit", fanOut().toString(), "--input", "topics=[\"tides\",\"moons\"]", "--follow");

    assertEquals(0, r.exit(), r.toString());
    String runId = r.runId();
    List<String> lines = r.out().lines().toList();
    assertTrue(lines.stream().anyMatch(l -> l.contains("RunAccepted") && l.contains("workflow fan_out v1")), r.toString());
    assertTrue(lines.stream().anyMatch(l -> l.contains("intro") && l.contains("StepScheduled")), r.toString());
    assertTrue(lines.stream().anyMatch(l -> l.contains("intro") && l.contains("StepSucceeded") && l.contains("$0.")),
        "a finished step shows its cost: " + r);
    assertTrue(lines.stream().anyMatch(l -> l.contains("per_topic") && l.contains("MapExpanded") && l.contains("2 items")),
        r.toString());
    assertTrue(lines.stream().anyMatch(l -> l.contains("per_topic[1]") && l.contains("StepSucceeded")), r.toString());
    assertTrue(lines.stream().anyMatch(l -> l.contains("RunCompleted")), r.toString());
    String last = lines.get(lines.size() - 1);
    assertTrue(last.startsWith("run " + runId + " SUCCEEDED in ") && last.contains("2/2 nodes"), r.toString());
  }

  /**
   * A step streams its text only when someone watches the run as it starts, so the streamed steps come after
   * a slow one: by then the stream has surely subscribed.
   */
  @Test
  void followShowsTheTextOfParallelStepsAsTheyStreamIt() throws IOException {
    Path streamed = workflow("streamed",
        "name: streamed",
        "version: 1",
        "inputs: {topics: {type: array}}",
        "nodes:",
        "  - {id: warmup, type: llm, route: slow, prompt: \"Take your time\"}",
        "  - {id: explain, type: map, over: inputs.topics, depends_on: [warmup], node: {type: llm, prompt: \"Explain {{item}}\"}}");

    Cli.Result text = user.run("runs", "submit", streamed.toString(), "--input", "topics=[\"tides\",\"moons\"]", "--follow");
    assertEquals(0, text.exit(), text.toString());
    // Parallel steps' pieces interleave, each stretch of them on a line of its own that names its step.
    for (String topic : List.of("tides", "moons")) {
      String step = "explain[" + (topic.equals("tides") ? 0 : 1) + "] | ";
      String pieces = text.out().lines().map(String::strip).filter(l -> l.startsWith(step))
          .map(l -> l.substring(step.length())).collect(Collectors.joining());
      assertTrue(pieces.startsWith("Simulated answer to \"Explain " + topic + "\""), "streamed text of " + step + text);
    }

    Cli.Result json = user.run("runs", "submit", streamed.toString(), "--input", "topics=[\"rings\"]", "--follow", "-o", "json");
    assertEquals(0, json.exit(), json.toString());
    List<JsonNode> deltas = new ArrayList<>();
    for (String line : json.out().lines().toList()) {
      JsonNode m = ApiClient.json().readTree(line);
      if (m.path("type").asText().equals("StepDelta")) deltas.add(m);
    }
    assertTrue(!deltas.isEmpty() && deltas.stream().allMatch(d -> d.path("ephemeral").asBoolean() && !d.has("seq")
        && d.path("node_id").asText().equals("explain")), "token deltas, marked ephemeral, without a seq: " + json);
  }

  @Test
  void followAsJsonPrintsEveryPersistedEventOncePerLineInJournalOrder() throws IOException {
    Cli.Result r = user.run("runs", "submit", fanOut().toString(), "--input", "topics=[\"comets\"]", "--follow",
        "--output", "json");

    assertEquals(0, r.exit(), r.toString());
    List<JsonNode> messages = new ArrayList<>();
    for (String line : r.out().lines().toList()) messages.add(ApiClient.json().readTree(line));
    List<Long> seqs = messages.stream().filter(m -> m.hasNonNull("seq")).map(m -> m.get("seq").asLong()).toList();
    String runId = messages.get(0).get("run_id").asText();
    JsonNode journal = node.journal(runId);
    assertEquals(journal.size(), seqs.size(), "each persisted event exactly once: " + r);
    for (int i = 0; i < seqs.size(); i++) assertEquals(i + 1, seqs.get(i), "in order: " + seqs);
    assertEquals("RunCompleted", messages.get(messages.size() - 1).get("type").asText());

  }

  @Test
  void followResumesAfterTheLastEventItSawWhenTheConnectionDrops() throws Exception {
    int port = java.net.URI.create(node.api().baseUrl()).getPort();
    try (CuttingProxy proxy = new CuttingProxy(port, 2, 1500)) {
      Cli.Result r = user.run("runs", "submit", fanOut().toString(), "--input", "topics=[\"rings\",\"belts\"]",
          "--follow", "-o", "json", "--url", proxy.url());

      assertEquals(0, r.exit(), r.toString());
      List<Long> seqs = new ArrayList<>();
      for (String line : r.out().lines().toList()) {
        JsonNode m = ApiClient.json().readTree(line);
        if (m.hasNonNull("seq")) seqs.add(m.get("seq").asLong());
      }
      String runId = ApiClient.json().readTree(r.out().lines().findFirst().orElseThrow()).get("run_id").asText();
      assertEquals(node.journal(runId).size(), seqs.size(), "nothing missed, nothing twice: " + seqs);
      for (int i = 0; i < seqs.size(); i++) assertEquals(i + 1, seqs.get(i), "in order: " + seqs);
      List<String> requests = proxy.eventRequests();
      assertEquals(3, requests.size(), "two cut streams, then one to the end: " + requests);
      // A reconnect names the last seq the follower saw. Which one: the JDK's HTTP client drops what it
      // received but its reader had not taken yet when the connection fails, so right after a cut the
      // follower may have seen no event of that stream (and resumes from where it was, which is correct).
      assertTrue(requests.subList(1, 3).stream().anyMatch(h -> h.contains("Last-Event-ID: ") || h.contains("last-event-id: ")),
          "a reconnect resumes after the last seq seen: " + requests);
    }
  }

  @Test
  void followExitsOneWhenTheRunFails() throws IOException {
    Path failing = workflow("failing",
        "name: failing",
        "version: 1",
        "policy: {retry: {max_attempts: 2, backoff_ms: 10}}",
        "nodes:",
        "  - {id: doomed, type: llm, route: broken, prompt: \"This provider always fails\"}");

    Cli.Result r = user.run("runs", "submit", failing.toString(), "--follow");

    assertEquals(1, r.exit(), r.toString());
    assertTrue(r.out().lines().anyMatch(l -> l.contains("doomed") && l.contains("StepFailed")
        && l.contains("PROVIDER_UNAVAILABLE")), r.toString());
    assertTrue(r.out().lines().anyMatch(l -> l.contains("StepRetryScheduled") && l.contains("attempt 2")), r.toString());
    assertTrue(r.out().lines().anyMatch(l -> l.contains("RunFailed")), r.toString());
    assertTrue(r.out().contains(" FAILED in "), r.toString());
  }

  @Test
  void followGivesUpAfterTheTimeoutWithExitFive() throws IOException {
    Path held = workflow("held",
        "name: held",
        "version: 1",
        "nodes:",
        "  - {id: waits, type: llm, route: held, prompt: \"An answer that never comes\"}");

    Cli.Result r = user.run("runs", "submit", held.toString(), "--follow", "--timeout", "1s");

    assertEquals(5, r.exit(), r.toString());
    assertTrue(r.out().lines().anyMatch(l -> l.contains("waits") && l.contains("StepScheduled")), r.toString());
    assertTrue(r.err().contains("timed out after 1.0s"), r.toString());
    assertEquals(0, user.run("runs", "cancel", r.runId()).exit());
  }
}
