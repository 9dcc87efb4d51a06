package dev.orrery.cluster.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.StreamClient;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The approval node: the run asks, streams the question, waits in AWAITING_APPROVAL, and goes on (or
 * fails) on a person's decision, or on its default decision when the deadline passes; who decided is in
 * the journal. The runs list shows which runs wait for a decision.
 */
@ExtendWith(SharedPostgres.class)
class ApprovalTest {
  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    node = TestNode.start(db, Map.of());
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.close();
  }

  private static Map<String, Object> publishing(Map<String, Object> review) {
    Map<String, Object> approval = new HashMap<>(review);
    approval.put("id", "review");
    approval.put("type", "approval");
    approval.put("prompt", "Publish this? {{draft.output}}");
    return Map.of("workflow", Map.of("name", "publish", "version", 1,
        "nodes", List.of(
            Map.of("id", "draft", "type", "llm", "prompt", "Draft a post about tides"),
            approval,
            Map.of("id", "publish", "type", "llm", "when", "review.output.approved",
                "prompt", "Publish: {{draft.output}}"))));
  }

  @Test
  void anApprovedRunGoesOnAndTheJournalSaysWhoApproved() throws Exception {
    String runId = node.submit(publishing(Map.of()));
    JsonNode waiting = node.awaitStatus(runId, Set.of("AWAITING_APPROVAL"), Duration.ofSeconds(30));
    String draft = waiting.at("/nodes/draft/output").asText();
    assertEquals("AWAITING_APPROVAL", waiting.at("/nodes/review/status").asText(), waiting.toString());
    assertEquals("Publish this? " + draft, waiting.at("/approvals/review/message").asText(), waiting.toString());
    assertEquals("PENDING", waiting.at("/nodes/publish/status").asText(), "nothing after the approval ran");

    // A live subscriber sees the question.
    StreamClient.Connection sse = StreamClient.serverSentEvents(node.api().baseUrl(), node.api().bearer(), runId, 0,
        m -> false);
    awaitMessage(sse, "ApprovalRequested");

    ApiClient.Response approved = node.api().postJson("/api/v1/runs/" + runId + "/approvals/review",
        Map.of("decision", "approve", "comment", "ship it"));
    assertEquals(200, approved.status(), approved.body().toString());
    JsonNode done = node.awaitFinished(runId, Duration.ofSeconds(30));
    assertEquals("SUCCEEDED", done.get("status").asText(), done.toString());
    assertTrue(done.at("/nodes/review/output/approved").asBoolean(), done.toString());
    assertEquals("ship it", done.at("/nodes/review/output/comment").asText());
    assertEquals("SUCCEEDED", done.at("/nodes/publish/status").asText(), "the decision feeds the next node");

    JsonNode granted = event(runId, "ApprovalGranted");
    assertEquals("ship it", granted.at("/data/comment").asText());
    assertFalse(granted.at("/data/by").asText().isBlank(), "who approved: " + granted);
    assertEquals(List.of("RunAccepted", "StepScheduled", "StepSucceeded", "ApprovalRequested", "ApprovalGranted",
        "StepScheduled", "StepSucceeded", "RunCompleted"), types(runId));
    // The live stream carried the decision and ended with the run.
    assertEquals("end", sse.closed.get(30, TimeUnit.SECONDS));
    assertEquals(types(runId), sse.events().stream().map(m -> m.get("type").asText()).toList());

    ApiClient.Response again = node.api().postJson("/api/v1/runs/" + runId + "/approvals/review",
        Map.of("decision", "deny"));
    assertEquals(409, again.status(), "a decided approval is not decided again: " + again.body());
  }

  @Test
  void aDenialFailsTheRunAndNothingAfterItRuns() {
    String runId = node.submit(publishing(Map.of()));
    node.awaitStatus(runId, Set.of("AWAITING_APPROVAL"), Duration.ofSeconds(30));
    ApiClient.Response denied = node.api().postJson("/api/v1/runs/" + runId + "/approvals/review",
        Map.of("decision", "deny", "comment", "off-brand"));
    assertEquals(200, denied.status(), denied.body().toString());
    JsonNode done = node.awaitFinished(runId, Duration.ofSeconds(30));
    assertEquals("FAILED", done.get("status").asText(), done.toString());
    assertEquals("APPROVAL_DENIED", done.at("/error/code").asText(), done.toString());
    assertEquals("review", done.at("/error/node_id").asText());
    assertEquals("CANCELLED", done.at("/nodes/publish/status").asText(), "publish never ran");
    assertTrue(types(runId).contains("ApprovalDenied"));
  }

  @Test
  void withOnDenyContinueTheNextNodesSeeTheDenial() {
    String runId = node.submit(publishing(Map.of("on_deny", "continue")));
    node.awaitStatus(runId, Set.of("AWAITING_APPROVAL"), Duration.ofSeconds(30));
    node.api().postJson("/api/v1/runs/" + runId + "/approvals/review", Map.of("decision", "deny", "comment", "no"));
    JsonNode done = node.awaitFinished(runId, Duration.ofSeconds(30));
    assertEquals("SUCCEEDED", done.get("status").asText(), done.toString());
    assertFalse(done.at("/nodes/review/output/approved").asBoolean(true), done.toString());
    assertEquals("SKIPPED", done.at("/nodes/publish/status").asText(), "its condition read the denial");
  }

  @Test
  void theDefaultDecisionIsTakenAtTheDeadline() {
    String runId = node.submit(publishing(Map.of("timeout_ms", 300, "default", "approve")));
    JsonNode done = node.awaitFinished(runId, Duration.ofSeconds(30));
    assertEquals("SUCCEEDED", done.get("status").asText(), done.toString());
    JsonNode granted = event(runId, "ApprovalGranted");
    assertEquals("deadline", granted.at("/data/by").asText(), granted.toString());
    JsonNode asked = event(runId, "ApprovalRequested");
    assertEquals("approve", asked.at("/data/default_decision").asText(), asked.toString());
  }

  @Test
  void wrongDecisionsAreRefusedClearlyAndChangeNothing() {
    String runId = node.submit(publishing(Map.of()));
    node.awaitStatus(runId, Set.of("AWAITING_APPROVAL"), Duration.ofSeconds(30));
    String path = "/api/v1/runs/" + runId + "/approvals/";
    ApiClient.Response unknownNode = node.api().postJson(path + "nope", Map.of("decision", "approve"));
    assertEquals(404, unknownNode.status(), unknownNode.body().toString());
    ApiClient.Response notAnApproval = node.api().postJson(path + "draft", Map.of("decision", "approve"));
    assertEquals(404, notAnApproval.status(), notAnApproval.body().toString());
    ApiClient.Response badDecision = node.api().postJson(path + "review", Map.of("decision", "maybe"));
    assertEquals(400, badDecision.status());
    assertEquals("INVALID_REQUEST", badDecision.errorCode());
    ApiClient.Response notJson = node.api().post(path + "review", "{nope", "application/json", Map.of());
    assertEquals(400, notJson.status());
    ApiClient viewer = node.api().as(TestNode.newKey(node.api(), "demo", "viewer"));
    assertEquals(403, viewer.postJson(path + "review", Map.of("decision", "approve")).status(), "a viewer may not decide");
    ApiClient other = node.newTenant("approvers-" + System.nanoTime(), "developer");
    assertEquals(404, other.postJson(path + "review", Map.of("decision", "approve")).status(),
        "another tenant's key finds no such run");
    assertEquals("AWAITING_APPROVAL", node.api().get("/api/v1/runs/" + runId).body().get("status").asText());

    // The runs list (a read side, a second or so behind) shows what waits for a decision.
    awaitListed(runId, "AWAITING_APPROVAL");
    node.api().postJson(path + "review", Map.of("decision", "approve"));
    node.awaitFinished(runId, Duration.ofSeconds(30));
    awaitListed(runId, "SUCCEEDED");
  }

  private static void awaitListed(String runId, String status) {
    node.eventually(Duration.ofSeconds(30), () -> {
      JsonNode page = node.api().get("/api/v1/runs?status=" + status + "&limit=500").body();
      List<String> listed = new ArrayList<>();
      page.get("runs").forEach(r -> listed.add(r.get("run_id").asText() + " " + r.get("workflow").asText()));
      assertTrue(listed.contains(runId + " publish"), "run " + runId + " listed as " + status + ": " + page);
    });
  }

  private static void awaitMessage(StreamClient.Connection c, String type) {
    node.eventually(Duration.ofSeconds(30), () -> assertTrue(
        c.messages.stream().anyMatch(m -> type.equals(m.path("type").asText())), "no " + type + ": " + c.messages));
  }

  private static JsonNode event(String runId, String type) {
    for (JsonNode e : node.journal(runId)) {
      if (e.get("type").asText().equals(type)) return e;
    }
    throw new AssertionError("no " + type + " in the journal of " + runId);
  }

  private static List<String> types(String runId) {
    List<String> types = new ArrayList<>();
    node.journal(runId).forEach(e -> types.add(e.get("type").asText()));
    return types;
  }
}
