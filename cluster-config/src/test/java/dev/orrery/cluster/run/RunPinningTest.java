package dev.orrery.cluster.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A run is pinned: it finishes on the agent versions and route definitions it started with, across a
 * redefinition and a restart of its node (an upgrade), while a run started afterwards takes the new ones.
 * Each run waits for an approval, so it is still running when things change under it.
 */
@ExtendWith(SharedPostgres.class)
class RunPinningTest {

  /** An agent whose answer's shape names its version: the simulated provider answers to the schema. */
  private static Map<String, Object> writer(String field) {
    return Map.of("name", "tide_writer", "category", "testing", "system_prompt", "Write about tides.",
        "output_schema", Map.of("type", "object", "properties", Map.of(field, Map.of("type", "string")),
            "required", List.of(field)));
  }

  private static Map<String, Object> gated(String name, Map<String, Object> afterGate) {
    return Map.of("workflow", Map.of("name", name, "version", 1, "nodes", List.of(
        Map.of("id", "gate", "type", "approval", "prompt", "Go ahead?"),
        afterGate)));
  }

  private static final Map<String, Object> WRITE = Map.of("id", "write", "type", "agent", "agent", "tide_writer",
      "prompt", "A note on tides", "when", "gate.output.approved");

  @Test
  void aRunFinishesOnTheAgentVersionItStartedWithWhileANewRunTakesTheRedefinedOne(SharedPostgres.TestDatabase db)
      throws Exception {
    String before;
    String after;
    try (TestNode node = TestNode.start(db, Map.of())) {
      assertEquals(1, created(node.api(), writer("first")));
      before = node.submit(gated("write-before", WRITE));
      JsonNode waiting = node.awaitStatus(before, Set.of("AWAITING_APPROVAL"), Duration.ofSeconds(30));
      assertEquals(1, waiting.at("/pins/agents/write/version").asInt(), waiting.toString());
      assertEquals("tide_writer", waiting.at("/pins/agents/write/agent").asText());

      assertEquals(2, created(node.api(), writer("second"))); // the agent is redefined
      after = node.submit(gated("write-after", WRITE));
      JsonNode newer = node.awaitStatus(after, Set.of("AWAITING_APPROVAL"), Duration.ofSeconds(30));
      assertEquals(2, newer.at("/pins/agents/write/version").asInt(), newer.toString());
    }
    // An upgrade: the node restarts; both runs come back from the journal, each with its own pin.
    try (TestNode node = TestNode.start(db, Map.of())) {
      for (String run : List.of(before, after)) approve(node, run);
      JsonNode old = node.awaitFinished(before, Duration.ofSeconds(60));
      assertEquals("SUCCEEDED", old.get("status").asText(), old.toString());
      assertTrue(old.at("/nodes/write/output/first").isTextual(), "version 1 answered: " + old.at("/nodes/write"));
      assertFalse(old.at("/nodes/write/output").has("second"), old.toString());
      JsonNode fresh = node.awaitFinished(after, Duration.ofSeconds(60));
      assertEquals("SUCCEEDED", fresh.get("status").asText(), fresh.toString());
      assertTrue(fresh.at("/nodes/write/output/second").isTextual(), "version 2 answered: " + fresh.at("/nodes/write"));

      JsonNode accepted = node.journal(before).get(0);
      assertEquals("RunAccepted", accepted.get("type").asText());
      assertEquals(2, accepted.get("version").asInt(), "the journal lists the event's format version");
      assertEquals(1, accepted.at("/data/pins/agents/write/version").asInt(), accepted.toString());
      JsonNode diff = node.api().get("/api/v1/runs/" + before + "/diff/" + after).body();
      JsonNode write = node(diff, "write");
      assertTrue(write.get("differs").toString().contains("agent_version"), write.toString());
      assertEquals(1, write.at("/a/agent_version").asInt());
      assertEquals(2, write.at("/b/agent_version").asInt());
      for (String run : List.of(before, after)) assertDeterministic(node, run);
    }
  }

  @Test
  void aRunFinishesOnTheRouteDefinitionItStartedWithWhileANewRunTakesTheRedefinedOne(SharedPostgres.TestDatabase db)
      throws Exception {
    Map<String, Object> house = Map.of("id", "draft", "type", "llm", "route", "house", "prompt", "Draft a tide table",
        "when", "gate.output.approved");
    String before;
    try (TestNode node = TestNode.start(db, providers("sim-a"))) {
      before = node.submit(gated("route-before", house));
      JsonNode waiting = node.awaitStatus(before, Set.of("AWAITING_APPROVAL"), Duration.ofSeconds(30));
      JsonNode pinned = waiting.at("/pins/routes/draft");
      assertEquals("house", pinned.get("route").asText(), waiting.toString());
      assertEquals("fallback", pinned.get("policy").asText());
      assertEquals("sim-a", pinned.at("/candidates/0/provider").asText(), pinned.toString());
      assertEquals(1, pinned.get("candidates").size());
    }
    // The upgrade redefines route house: sim-b only.
    try (TestNode node = TestNode.start(db, providers("sim-b"))) {
      approve(node, before);
      JsonNode old = node.awaitFinished(before, Duration.ofSeconds(60));
      assertEquals("SUCCEEDED", old.get("status").asText(), old.toString());
      assertEquals("sim-a", old.at("/nodes/draft/provider").asText(), "served over its pinned candidates: " + old);

      String after = node.submit(gated("route-after", house));
      JsonNode newer = node.awaitStatus(after, Set.of("AWAITING_APPROVAL"), Duration.ofSeconds(30));
      assertEquals("sim-b", newer.at("/pins/routes/draft/candidates/0/provider").asText(), newer.toString());
      approve(node, after);
      JsonNode fresh = node.awaitFinished(after, Duration.ofSeconds(60));
      assertEquals("sim-b", fresh.at("/nodes/draft/provider").asText(), fresh.toString());
      assertDeterministic(node, before);
    }
  }

  /** Two simulated providers; the route {@code house} uses only {@code houseProvider}. */
  private static Map<String, Object> providers(String houseProvider) {
    return Map.of(
        "orrery.llm.providers", List.of(Map.of("name", "sim-a", "kind", "simulated"),
            Map.of("name", "sim-b", "kind", "simulated")),
        "orrery.llm.routes.house.providers", List.of(houseProvider));
  }

  private static int created(ApiClient api, Map<String, Object> definition) {
    ApiClient.Response r = api.postJson("/api/v1/agents", definition);
    assertEquals(201, r.status(), r.body().toString());
    return r.body().get("version").asInt();
  }

  private static void approve(TestNode node, String runId) {
    ApiClient.Response r = node.api().postJson("/api/v1/runs/" + runId + "/approvals/gate",
        Map.of("decision", "approve"));
    assertEquals(200, r.status(), r.body().toString());
  }

  private static void assertDeterministic(TestNode node, String runId) {
    JsonNode replay = node.api().postJson("/api/v1/runs/" + runId + "/replay", Map.of()).body();
    assertTrue(replay.get("deterministic").asBoolean(), replay.toString());
  }

  private static JsonNode node(JsonNode diff, String nodeId) {
    for (JsonNode n : diff.get("nodes")) {
      if (n.get("node_id").asText().equals(nodeId)) return n;
    }
    throw new AssertionError("no node " + nodeId + " in " + diff);
  }
}
