package dev.orrery.cluster.run;

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

/** Runs submitted over HTTP to a real node, journaled in PostgreSQL, answered by the simulated provider. */
@ExtendWith(SharedPostgres.class)
class RunLifecycleTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
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
  void bundledExampleCompletesWithMapOutputsInInputOrder() {
    List<String> sections = List.of("tides", "moons", "comets", "stars");
    String runId = node.submit(Map.of("workflow_name", "document_analysis",
        "inputs", Map.of("document", "A long report about the sky.", "sections", sections)));

    JsonNode run = node.awaitFinished(runId, WAIT);
    assertEquals("SUCCEEDED", run.get("status").asText(), run.toString());
    JsonNode perSection = run.at("/nodes/per_section/output");
    assertEquals(sections.size(), perSection.size());
    for (int i = 0; i < sections.size(); i++) {
      assertTrue(perSection.get(i).asText().contains(sections.get(i)),
          "item " + i + " answers its own section: " + perSection.get(i));
    }
    String label = run.at("/nodes/sentiment/output/label").asText();
    assertTrue(List.of("positive", "negative", "neutral").contains(label), "label satisfies the schema: " + label);
    String report = run.at("/nodes/report/status").asText();
    assertEquals("positive".equals(label) ? "SUCCEEDED" : "SKIPPED", report, "the when-condition decides the report");
    assertTrue(run.at("/usage/tokens_in").asLong() > 0);
    assertTrue(run.at("/usage/cost_micros").asLong() > 0);

    JsonNode events = node.journal(runId);
    assertEquals("RunAccepted", events.get(0).get("type").asText());
    assertEquals("RunCompleted", events.get(events.size() - 1).get("type").asText());
    long previous = 0;
    int successes = 0;
    for (JsonNode e : events) {
      assertTrue(e.get("seq").asLong() == previous + 1, "journal is in order without gaps: " + events);
      previous = e.get("seq").asLong();
      if (e.get("type").asText().equals("StepSucceeded")) successes++;
    }
    int expectedSteps = 2 + sections.size() + ("SUCCEEDED".equals(report) ? 1 : 0);
    assertEquals(expectedSteps, successes, "one StepSucceeded per step");
  }

  @Test
  void falseConditionSkipsTheNodeAndItsDependantsButNotTheRest() {
    String runId = node.submit(Map.of("workflow", Map.of(
        "name", "gated", "version", 1,
        "inputs", Map.of("publish", Map.of("type", "boolean")),
        "nodes", List.of(
            Map.of("id", "draft", "type", "llm", "prompt", "Draft a note"),
            Map.of("id", "polish", "type", "llm", "prompt", "Polish {{draft.output}}", "when", "inputs.publish"),
            Map.of("id", "announce", "type", "llm", "prompt", "Announce {{polish.output}}"),
            Map.of("id", "archive", "type", "llm", "prompt", "Archive {{draft.output}}"))),
        "inputs", Map.of("publish", false)));

    JsonNode run = node.awaitFinished(runId, WAIT);
    assertEquals("SUCCEEDED", run.get("status").asText(), run.toString());
    assertEquals("SKIPPED", run.at("/nodes/polish/status").asText());
    assertEquals("SKIPPED", run.at("/nodes/announce/status").asText());
    assertEquals("SUCCEEDED", run.at("/nodes/archive/status").asText());
    assertTrue(run.at("/outputs/archive").isTextual(), "sink outputs are the run's outputs: " + run.get("outputs"));
  }

  @Test
  void aWorkflowInYamlIsAcceptedLikeJson() {
    String yaml = String.join("\n",
        "workflow: |",
        "  name: hello_yaml",
        "  version: 1",
        "  inputs: {name: {type: string}}",
        "  nodes:",
        "    - id: greet",
        "      type: llm",
        "      prompt: \"Greet {{inputs.name}}\"",
        "inputs: {name: Ada}");
    ApiClient.Response r = node.api().post("/api/v1/runs", yaml, "application/yaml", Map.of());
    assertEquals(201, r.status(), r.body().toString());
    JsonNode run = node.awaitFinished(r.body().get("run_id").asText(), WAIT);
    assertEquals("SUCCEEDED", run.get("status").asText());
    assertTrue(run.at("/outputs/greet").asText().contains("Greet Ada"));
  }

  @Test
  void sameIdempotencyKeyReturnsTheSameRunAndADifferentBodyConflicts() {
    Map<String, Object> body = Map.of("workflow_name", "hello", "inputs", Map.of("name", "Grace"));
    Map<String, String> key = Map.of("Idempotency-Key", "submit-once-" + System.nanoTime());
    ApiClient.Response first = node.api().postJson("/api/v1/runs", body, key);
    ApiClient.Response second = node.api().postJson("/api/v1/runs", body, key);
    assertEquals(201, first.status(), first.body().toString());
    assertEquals(200, second.status(), second.body().toString());
    String runId = first.body().get("run_id").asText();
    assertEquals(runId, second.body().get("run_id").asText());

    ApiClient.Response other = node.api().postJson("/api/v1/runs",
        Map.of("workflow_name", "hello", "inputs", Map.of("name", "Linus")), key);
    assertEquals(409, other.status());
    assertEquals("CONFLICT", other.errorCode());

    node.awaitFinished(runId, WAIT);
    List<String> types = new ArrayList<>();
    node.journal(runId).forEach(e -> types.add(e.get("type").asText()));
    assertEquals(1, types.stream().filter("RunAccepted"::equals).count(), "one run, accepted once: " + types);
  }
}
