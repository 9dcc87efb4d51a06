package dev.orrery.cluster.debug;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.FakeOpenAi;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.router.fake.Fault;
import dev.orrery.router.fake.FakeProviderServer;
import dev.orrery.router.fake.RecordedRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Debugging from the journal, against a real OpenAI-compatible provider on loopback: the state at each
 * sequence number equals the live state at that point, a replay of recorded runs is deterministic, a
 * fork calls the provider only for the changed node and what depends on it, and a diff shows what
 * changed.
 */
@ExtendWith(SharedPostgres.class)
class RunDebuggingTest {
  private static final FakeOpenAi fake = new FakeOpenAi();
  private static FakeProviderServer provider;
  private static TestNode node;

  /** research and outline are independent; draft needs outline; final needs both. */
  private static final Map<String, Object> ARTICLE = Map.of("workflow", Map.of("name", "article", "version", 1,
      "inputs", Map.of("topic", Map.of("type", "string")),
      "nodes", List.of(
          Map.of("id", "research", "type", "llm", "prompt", "Research {{inputs.topic}}"),
          Map.of("id", "outline", "type", "llm", "prompt", "Outline a piece on the sea"),
          Map.of("id", "draft", "type", "llm", "prompt", "Draft from {{outline.output}}"),
          Map.of("id", "final", "type", "llm", "prompt", "Polish {{draft.output}} with {{research.output}}"))),
      "inputs", Map.of("topic", "tides"));

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    provider = fake.server();
    node = fake.startNode(db);
  }

  @AfterAll
  static void stop() throws Exception {
    fake.close(node);
  }

  @BeforeEach
  void reset() {
    provider.setDefault(Fault.none());
    provider.setRecording(true);
    provider.clearRequests();
  }

  @Test
  void theStateAtEachSequenceNumberIsTheLiveStateThen() {
    // An approval in the middle holds the run still at a known point.
    String runId = node.submit(Map.of("workflow", Map.of("name", "paused", "version", 1,
        "nodes", List.of(
            Map.of("id", "a", "type", "llm", "prompt", "first"),
            Map.of("id", "gate", "type", "approval", "prompt", "go on after {{a.output}}?"),
            Map.of("id", "b", "type", "llm", "prompt", "second", "depends_on", List.of("gate"))))));
    node.awaitStatus(runId, Set.of("AWAITING_APPROVAL"), Duration.ofSeconds(30));
    JsonNode waiting = ok(node.api().get("/api/v1/runs/" + runId + "/state"));
    long seq = waiting.get("seq").asLong();
    assertEquals(waiting, ok(node.api().get("/api/v1/runs/" + runId + "/state?at_seq=" + seq)),
        "folded from the journal up to " + seq + " = the live state");

    node.api().postJson("/api/v1/runs/" + runId + "/approvals/gate", Map.of("decision", "approve"));
    node.awaitFinished(runId, Duration.ofSeconds(30));
    JsonNode finished = ok(node.api().get("/api/v1/runs/" + runId + "/state"));
    long last = finished.get("seq").asLong();
    assertEquals(finished, ok(node.api().get("/api/v1/runs/" + runId + "/state?at_seq=" + last)));
    assertEquals(finished.get("state"), ok(node.api().get("/api/v1/runs/" + runId + "/state?at_seq=" + (last + 50)))
        .get("state"), "past the end is the end");

    // Every earlier point is a real, smaller state: the seq of each is the number of events folded.
    JsonNode journal = node.journal(runId);
    for (int n = 1; n <= last; n++) {
      JsonNode at = ok(node.api().get("/api/v1/runs/" + runId + "/state?at_seq=" + n));
      assertEquals(n, at.get("seq").asLong());
      String type = journal.get(n - 1).get("type").asText();
      if (type.equals("ApprovalRequested")) assertEquals("AWAITING_APPROVAL", at.at("/state/status").asText());
      if (type.equals("RunAccepted")) assertEquals("PENDING", at.at("/state/nodes/a/status").asText());
    }
    ApiClient.Response bad = node.api().get("/api/v1/runs/" + runId + "/state?at_seq=0");
    assertEquals(400, bad.status());
    assertEquals("INVALID_REQUEST", bad.errorCode());
    assertEquals(404, node.api().get("/api/v1/runs/00000000-0000-4000-8000-000000000000/state?at_seq=1").status());
  }

  @Test
  void recordedRunsReplayDeterministically() {
    // One plain run, and one whose first call fails once and is retried.
    String plain = node.submit(ARTICLE);
    assertEquals("SUCCEEDED", node.awaitFinished(plain, Duration.ofSeconds(30)).get("status").asText());
    provider.enqueue(Fault.serverError());
    String retried = node.submit(Map.of("workflow", Map.of("name", "retried", "version", 1,
        "policy", Map.of("retry", Map.of("max_attempts", 3, "backoff_ms", 10)),
        "nodes", List.of(Map.of("id", "only", "type", "llm", "prompt", "once more")))));
    assertEquals("SUCCEEDED", node.awaitFinished(retried, Duration.ofSeconds(30)).get("status").asText());
    assertTrue(types(retried).contains("StepRetryScheduled"), types(retried).toString());

    // A map over a list input: read back from the journal, the list must still be a list.
    String mapped = node.submit(Map.of("workflow", Map.of("name", "mapped", "version", 1,
        "inputs", Map.of("topics", Map.of("type", "array")),
        "nodes", List.of(Map.of("id", "each", "type", "map", "over", "inputs.topics",
            "node", Map.of("type", "llm", "prompt", "On {{item}}")))),
        "inputs", Map.of("topics", List.of("tides", "moons"))));
    assertEquals("SUCCEEDED", node.awaitFinished(mapped, Duration.ofSeconds(30)).get("status").asText());

    for (String run : List.of(plain, retried, mapped)) {
      JsonNode replay = ok(node.api().postJson("/api/v1/runs/" + run + "/replay", Map.of()));
      assertTrue(replay.get("deterministic").asBoolean(), replay.toString());
      assertEquals(node.journal(run).size(), replay.get("events_checked").asInt());
    }
    assertEquals(404, node.api().postJson("/api/v1/runs/00000000-0000-4000-8000-000000000000/replay", Map.of()).status());
  }

  @Test
  void aForkReusesWhatDoesNotDependOnTheChangedNodeAndTheDiffShowsIt() throws Exception {
    String original = node.submit(ARTICLE);
    JsonNode before = node.awaitFinished(original, Duration.ofSeconds(30));
    assertEquals("SUCCEEDED", before.get("status").asText(), before.toString());
    assertEquals(4, userPrompts().size(), "the original called the provider once per node");
    provider.clearRequests();

    ApiClient.Response forked = node.api().postJson("/api/v1/runs/" + original + "/fork",
        Map.of("node_id", "draft", "prompt", "Draft boldly from {{outline.output}}"));
    assertEquals(201, forked.status(), forked.body().toString());
    String fork = forked.body().get("run_id").asText();
    assertEquals(original, forked.body().at("/forked_from/run_id").asText());
    JsonNode after = node.awaitFinished(fork, Duration.ofSeconds(30));
    assertEquals("SUCCEEDED", after.get("status").asText(), after.toString());

    List<String> called = userPrompts();
    assertEquals(2, called.size(), "only draft and final were called again: " + called);
    assertTrue(called.get(0).startsWith("Draft boldly from "), called.toString());
    assertTrue(called.get(1).startsWith("Polish "), called.toString());
    assertEquals(before.at("/nodes/research/output"), after.at("/nodes/research/output"), "research reused");
    assertEquals(before.at("/nodes/outline/output"), after.at("/nodes/outline/output"), "outline reused");
    assertNotEquals(before.at("/nodes/draft/output"), after.at("/nodes/draft/output"));
    assertEquals(0, after.at("/nodes/outline/usage/tokens_in").asLong(), "a reused output costs nothing");
    List<String> forkTypes = types(fork);
    assertEquals(2, forkTypes.stream().filter(t -> t.equals("NodeReused")).count(), forkTypes.toString());

    JsonNode diff = ok(node.api().get("/api/v1/runs/" + original + "/diff/" + fork));
    assertFalse(diff.get("same").asBoolean());
    Map<String, JsonNode> byNode = new java.util.HashMap<>();
    diff.get("nodes").forEach(n -> byNode.put(n.get("node_id").asText(), n));
    assertTrue(byNode.get("draft").get("differs").toString().contains("output"), byNode.get("draft").toString());
    assertFalse(byNode.get("outline").get("differs").toString().contains("output"), byNode.get("outline").toString());
    assertTrue(byNode.get("outline").at("/b/reused").asBoolean(), byNode.get("outline").toString());

    // A fork with other inputs runs every node that reads them, and what depends on those.
    provider.clearRequests();
    ApiClient.Response otherTopic = node.api().postJson("/api/v1/runs/" + original + "/fork",
        Map.of("node_id", "outline", "inputs", Map.of("topic", "currents")));
    assertEquals(201, otherTopic.status(), otherTopic.body().toString());
    node.awaitFinished(otherTopic.body().get("run_id").asText(), Duration.ofSeconds(30));
    assertEquals(4, userPrompts().size(), "research reads the changed input; outline was chosen; the rest follow");

    ApiClient.Response unknown = node.api().postJson("/api/v1/runs/" + original + "/fork", Map.of("node_id", "nope"));
    assertEquals(400, unknown.status(), unknown.body().toString());
    assertTrue(node.api().postJson("/api/v1/runs/" + fork + "/replay", Map.of()).body().get("deterministic").asBoolean(),
        "a fork's journal replays too");
  }

  private static List<String> userPrompts() throws java.io.IOException {
    List<String> prompts = new ArrayList<>();
    for (RecordedRequest r : provider.requests()) {
      JsonNode body = ApiClient.json().readTree(r.body().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      JsonNode messages = body.get("messages");
      prompts.add(messages.get(messages.size() - 1).get("content").asText());
    }
    return prompts;
  }

  private static JsonNode ok(ApiClient.Response r) {
    assertEquals(200, r.status(), () -> r.body().toString());
    return r.body();
  }

  private static List<String> types(String runId) {
    List<String> types = new ArrayList<>();
    node.journal(runId).forEach(e -> types.add(e.get("type").asText()));
    return types;
  }
}
