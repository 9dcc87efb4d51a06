package dev.orrery.cluster.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.FakeCollector;
import dev.orrery.cluster.testing.FakeCollector.ReceivedSpan;
import dev.orrery.cluster.testing.FakeOpenAi;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A run's trace outlives the node that began it: a run waits for an approval when its node stops; a
 * second node on the same journal takes it up, the approval is given there, and the rest of the run —
 * the approval's wait, the next step and its provider call, the run's own span — goes on in the trace the
 * first node began, under the same run span, with nothing but the journal passed between them.
 */
@ExtendWith(SharedPostgres.class)
class RunTraceRecoveryTest {

  @Test
  void aRunMovedToAnotherNodeGoesOnInTheTraceItStartedIn(SharedPostgres.TestDatabase db) throws Exception {
    try (FakeCollector collector = FakeCollector.start(); FakeOpenAi provider = new FakeOpenAi()) {
      Map<String, Object> settings = new HashMap<>(FakeOpenAi.NO_RETRIES);
      settings.put("orrery.tracing.otlp-endpoint", collector.endpoint());
      settings.put("orrery.tracing.export-delay", "200ms");

      TestNode first = TestNode.start(db, settings, provider.env());
      String firstAddress = first.clusterAddress();
      String runId;
      String traceId;
      try {
        var submitted = first.api().postJson("/api/v1/runs", workflow());
        assertEquals(201, submitted.status(), () -> "submit: " + submitted.body());
        runId = submitted.body().get("run_id").asText();
        traceId = submitted.body().get("trace_id").asText();
        first.awaitStatus(runId, Set.of("AWAITING_APPROVAL"), Duration.ofSeconds(30));
      } finally {
        first.close();
      }

      try (TestNode second = TestNode.start(db, settings, provider.env())) {
        assertNotEquals(firstAddress, second.clusterAddress());
        var approved = second.api().postJson("/api/v1/runs/" + runId + "/approvals/review",
            Map.of("decision", "approve", "comment", "go on"));
        assertEquals(200, approved.status(), () -> "approve: " + approved.body());
        JsonNode run = second.awaitFinished(runId, Duration.ofSeconds(60));
        assertEquals("SUCCEEDED", run.get("status").asText(), () -> "run: " + run);
        assertEquals(traceId, run.get("trace_id").asText());

        second.eventually(Duration.ofSeconds(30), () -> {
          List<String> names = collector.spansOf(traceId).stream().map(ReceivedSpan::name).toList();
          assertTrue(names.contains("run reviewed") && names.contains("step publish"),
              () -> "the run's end arrived: " + names);
        });
        List<ReceivedSpan> spans = collector.spansOf(traceId);
        ReceivedSpan runSpan = one(spans, "run reviewed");
        ReceivedSpan draft = one(spans, "step draft");
        ReceivedSpan review = one(spans, "approval review");
        ReceivedSpan publish = one(spans, "step publish");
        assertEquals(firstAddress, draft.resource().get("service.instance.id"), "the first node ran the first step");
        for (ReceivedSpan later : List.of(review, publish, runSpan)) {
          assertEquals(second.clusterAddress(), later.resource().get("service.instance.id"), later.name() + " on the second");
        }
        for (ReceivedSpan child : List.of(draft, review, publish)) {
          assertEquals(runSpan.spanId(), child.parentSpanId(), child.name() + " is under the one run span");
        }
        assertEquals("APPROVED", review.attribute("orrery.status"));
        assertEquals(second.clusterAddress(), runSpan.attribute("orrery.cluster_node"), "the run ended there");
        assertTrue(runSpan.startNanos() <= draft.startNanos(), "the run span starts when the first node accepted it");
        assertTrue(review.startNanos() < review.endNanos(), "the wait for a person is the approval's span");
        for (ReceivedSpan step : List.of(draft, publish)) {
          assertEquals(1, spans.stream().filter(s -> s.name().startsWith("chat ")
              && step.spanId().equals(s.parentSpanId())).count(), step.name() + "'s provider call is its child");
        }
        assertEquals(4 + 2 + 1, spans.size(), () -> "no span twice: " + spans.stream().map(ReceivedSpan::name).toList());
      }
    }
  }

  private static ReceivedSpan one(List<ReceivedSpan> spans, String name) {
    List<ReceivedSpan> named = spans.stream().filter(s -> s.name().equals(name)).toList();
    assertEquals(1, named.size(), () -> "one span '" + name + "': " + spans.stream().map(ReceivedSpan::name).toList());
    return named.get(0);
  }

  private static Map<String, Object> workflow() {
    return Map.of(
        "workflow", Map.of("name", "reviewed", "version", 1, "nodes", List.of(
            Map.of("id", "draft", "type", "llm", "prompt", "Draft a note"),
            Map.of("id", "review", "type", "approval", "prompt", "Publish {{draft.output}}?",
                "depends_on", List.of("draft")),
            Map.of("id", "publish", "type", "llm", "prompt", "Publish {{draft.output}}",
                "when", "review.output.approved"))),
        "inputs", Map.of());
  }
}
