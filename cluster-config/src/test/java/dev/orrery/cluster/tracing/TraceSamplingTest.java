package dev.orrery.cluster.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.FakeCollector;
import dev.orrery.cluster.testing.FakeCollector.ReceivedSpan;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Sampling drops or keeps a run's trace whole, decided once when the run is accepted and recorded in its
 * journal: on a node that keeps no new trace (ratio 0), a run of its own is not traced at all, while a run
 * whose caller sampled its trace is traced, span for span.
 */
@ExtendWith(SharedPostgres.class)
class TraceSamplingTest {

  @Test
  void aRunIsTracedWholeOrNotAtAllAsItsAcceptanceDecided(SharedPostgres.TestDatabase db) throws Exception {
    try (FakeCollector collector = FakeCollector.start();
        TestNode node = TestNode.start(db, Map.of("orrery.tracing.otlp-endpoint", collector.endpoint(),
            "orrery.tracing.export-delay", "200ms", "orrery.tracing.sample-ratio", 0.0))) {
      var own = node.api().postJson("/api/v1/runs", workflow());
      assertEquals(201, own.status(), () -> "submit: " + own.body());
      String ownRun = own.body().get("run_id").asText();
      String ownTrace = own.body().get("trace_id").asText();
      node.awaitFinished(ownRun, Duration.ofSeconds(30));
      JsonNode accepted = node.journal(ownRun).get(0);
      assertFalse(accepted.at("/data/trace/sampled").asBoolean(true), "the run recorded its trace as not sampled");

      String callerTrace = "0af7651916cd43dd8448eb211c80319c";
      var followed = node.api().postJson("/api/v1/runs", workflow(),
          Map.of("traceparent", "00-" + callerTrace + "-b7ad6b7169203331-01"));
      assertEquals(201, followed.status(), () -> "submit: " + followed.body());
      String followedRun = followed.body().get("run_id").asText();
      node.awaitFinished(followedRun, Duration.ofSeconds(30));
      assertTrue(node.journal(followedRun).get(0).at("/data/trace/sampled").asBoolean(), "the caller's decision");

      node.eventually(Duration.ofSeconds(30), () -> {
        List<String> names = collector.spansOf(callerTrace).stream().map(ReceivedSpan::name).toList();
        assertTrue(names.containsAll(List.of("POST /api/v1/runs", "run sampled", "step one", "step two")),
            () -> "the sampled run's spans: " + names);
        assertEquals(2, names.stream().filter(n -> n.startsWith("chat ")).count(), names::toString);
      });
      // What the first run would have made was finished before the second began, so it would be here by now.
      assertEquals(List.of(), collector.spansOf(ownTrace), "not one span of the unsampled run");
      assertTrue(collector.spans().stream().allMatch(s -> s.traceId().equals(callerTrace)),
          "nothing but the sampled trace was exported");
    }
  }

  private static Map<String, Object> workflow() {
    return Map.of("workflow", Map.of("name", "sampled", "version", 1, "nodes", List.of(
        Map.of("id", "one", "type", "llm", "prompt", "First"),
        Map.of("id", "two", "type", "llm", "prompt", "Then {{one.output}}"))), "inputs", Map.of());
  }
}
