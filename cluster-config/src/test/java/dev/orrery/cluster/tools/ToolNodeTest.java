package dev.orrery.cluster.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
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
 * Tool and agent nodes and {@code /api/v1/tools} on the embedded defaults: workflows mixing llm, agent and
 * tool nodes (the WASM calculator, a sandboxed python snippet, a bundled agent) run end to end, tool outputs feed later nodes, a
 * failing tool fails its run clearly, and a workflow naming a tool the node lacks is refused at submit.
 */
@ExtendWith(SharedPostgres.class)
class ToolNodeTest {
  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    node = TestNode.start(db, Map.of());
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.close();
  }

  @Test
  void aWorkflowMixingLlmAndToolNodesRunsEndToEnd() {
    String runId = node.submit(Map.of("workflow", Map.of("name", "mixed", "version", 1,
        "inputs", Map.of("a", Map.of("type", "number"), "b", Map.of("type", "number")),
        "nodes", List.of(
            Map.of("id", "product", "type", "tool", "tool", "calculator",
                "arguments", Map.of("expression", "{{inputs.a}} * ({{inputs.b}} + 1)")),
            Map.of("id", "stats", "type", "tool", "tool", "python", "arguments", Map.of("code",
                "import json\nxs=[{{product.output}}, 2, 3]\nprint(json.dumps({'n': len(xs), 'total': sum(xs)}))")),
            Map.of("id", "explain", "type", "llm", "prompt", "Explain {{stats.output.total}} to a child"))),
        "inputs", Map.of("a", 6, "b", 6)));
    JsonNode run = node.awaitFinished(runId, Duration.ofSeconds(60));
    assertEquals("SUCCEEDED", run.get("status").asText(), run.toString());
    assertEquals("42", run.at("/nodes/product/output").asText(), run.toString());
    assertEquals(47, run.at("/nodes/stats/output/total").asInt(), "python's JSON output is a value: " + run);
    assertEquals("calculator", run.at("/nodes/product/model").asText(), "the step records which tool served it");
    assertEquals("SUCCEEDED", run.at("/nodes/explain/status").asText());
    JsonNode replay = node.api().postJson("/api/v1/runs/" + runId + "/replay", Map.of()).body();
    assertTrue(replay.get("deterministic").asBoolean(), replay.toString());
  }

  @Test
  void aWorkflowMixingLlmAgentAndToolNodesRunsEndToEndOnTheEmbeddedDefaults() {
    String runId = node.submit(Map.of("workflow", Map.of("name", "launch", "version", 1,
        "inputs", Map.of("product", Map.of("type", "string"), "price", Map.of("type", "number")),
        "nodes", List.of(
            Map.of("id", "discounted", "type", "tool", "tool", "calculator",
                "arguments", Map.of("expression", "{{inputs.price}} * 0.8")),
            Map.of("id", "copy", "type", "agent", "agent", "campaign_copywriter",
                "prompt", "Launch copy for {{inputs.product}} at {{discounted.output}} dollars",
                "context", Map.of("product", "{{inputs.product}}", "channel", "email")),
            Map.of("id", "subject", "type", "llm", "prompt", "An email subject for: {{copy.output.headline}}"))),
        "inputs", Map.of("product", "a tide clock", "price", 50)));
    JsonNode run = node.awaitFinished(runId, Duration.ofSeconds(60));
    assertEquals("SUCCEEDED", run.get("status").asText(), run.toString());
    assertEquals("40", run.at("/nodes/discounted/output").asText(), run.toString());
    assertTrue(run.at("/nodes/copy/output/headline").isTextual(), "the agent's answer meets its output schema: " + run);
    assertTrue(run.at("/nodes/copy/usage/tokens_in").asLong() > 0, "the agent's turns are the step's usage: " + run);
    assertEquals("SUCCEEDED", run.at("/nodes/subject/status").asText());
    JsonNode replay = node.api().postJson("/api/v1/runs/" + runId + "/replay", Map.of()).body();
    assertTrue(replay.get("deterministic").asBoolean(), replay.toString());

    ApiClient.Response unknownAgent = node.api().postJson("/api/v1/runs", Map.of("workflow", Map.of("name", "x",
        "version", 1, "nodes", List.of(Map.of("id", "a", "type", "agent", "agent", "nobody", "prompt", "hi")))));
    assertEquals(201, unknownAgent.status(), unknownAgent.body().toString());
    JsonNode failed = node.awaitFinished(unknownAgent.body().get("run_id").asText(), Duration.ofSeconds(30));
    assertEquals("FAILED", failed.get("status").asText(), failed.toString());
    assertEquals("NOT_FOUND", failed.at("/error/code").asText(), "an agent the tenant lacks fails the step: " + failed);
  }

  @Test
  void aFailingToolFailsItsRunWithTheToolsReason() {
    String runId = node.submit(Map.of("workflow", Map.of("name", "broken", "version", 1,
        "policy", Map.of("retry", Map.of("max_attempts", 3, "backoff_ms", 10)),
        "nodes", List.of(Map.of("id", "crash", "type", "tool", "tool", "python",
            "arguments", Map.of("code", "import sys\nprint('partial')\nsys.exit(3)"))))));
    JsonNode run = node.awaitFinished(runId, Duration.ofSeconds(60));
    assertEquals("FAILED", run.get("status").asText(), run.toString());
    assertEquals("EXIT_CODE", run.at("/error/code").asText(), run.toString());
    assertTrue(run.at("/error/message").asText().contains("exit code 3"), run.toString());
    List<String> types = new ArrayList<>();
    node.journal(runId).forEach(e -> types.add(e.get("type").asText()));
    assertEquals(List.of("RunAccepted", "StepScheduled", "StepFailed", "RunFailed"), types,
        "a program that exits non-zero is not retried: it would fail the same way");
  }

  @Test
  void aToolTheNodeDoesNotOfferIsRefusedAtSubmit() {
    ApiClient.Response r = node.api().postJson("/api/v1/runs", Map.of("workflow", Map.of("name", "x", "version", 1,
        "nodes", List.of(Map.of("id", "t", "type", "tool", "tool", "teleport")))));
    assertEquals(400, r.status(), r.body().toString());
    assertTrue(r.body().at("/error/message").asText().contains("teleport"), r.body().toString());
    ApiClient.Response noName = node.api().postJson("/api/v1/runs", Map.of("workflow", Map.of("name", "x",
        "version", 1, "nodes", List.of(Map.of("id", "t", "type", "tool", "prompt", "hi")))));
    assertEquals(400, noName.status(), noName.body().toString());
  }

  @Test
  void toolsAreListedAndCalledOnTheirOwn() {
    JsonNode listed = node.api().get("/api/v1/tools").body();
    List<String> names = new ArrayList<>();
    listed.get("tools").forEach(t -> names.add(t.get("name").asText()));
    assertTrue(names.containsAll(List.of("calculator", "python", "shell", "http_fetch")), names.toString());
    listed.get("tools").forEach(t -> assertTrue(t.get("input_schema").isObject(), t.toString()));

    ApiClient.Response sum = node.api().postJson("/api/v1/tools/calculator/invoke",
        Map.of("arguments", Map.of("expression", "1 + 2 * 3")));
    assertEquals(200, sum.status(), sum.body().toString());
    assertEquals("7", sum.body().get("output").asText().strip());
    assertEquals(0, sum.body().get("exit_code").asInt());

    ApiClient.Response exit = node.api().postJson("/api/v1/tools/shell/invoke",
        Map.of("arguments", Map.of("script", "echo out; exit 4")));
    assertEquals(200, exit.status(), exit.body().toString());
    assertEquals(4, exit.body().get("exit_code").asInt(), exit.body().toString());
    assertEquals("out", exit.body().get("output").asText().strip());

    ApiClient.Response bad = node.api().postJson("/api/v1/tools/calculator/invoke",
        Map.of("arguments", Map.of("expr", "1")));
    assertEquals(400, bad.status(), bad.body().toString());
    assertEquals("INVALID_REQUEST", bad.errorCode());
    assertEquals(404, node.api().postJson("/api/v1/tools/teleport/invoke", Map.of("arguments", Map.of())).status());
    ApiClient viewer = node.api().as(TestNode.newKey(node.api(), "demo", "viewer"));
    assertEquals(403, viewer.postJson("/api/v1/tools/shell/invoke", Map.of("arguments", Map.of("script", "id"))).status(),
        "a viewer may list the tools but not run code");
  }
}
