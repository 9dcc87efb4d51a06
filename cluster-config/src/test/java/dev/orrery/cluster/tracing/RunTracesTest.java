package dev.orrery.cluster.tracing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.FakeCollector;
import dev.orrery.cluster.testing.FakeCollector.ReceivedSpan;
import dev.orrery.cluster.testing.FakeOpenAi;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One trace per run, across the nodes of a cluster: a run submitted to node B with a caller's
 * {@code traceparent} executes on node A; the spans both nodes export to a collector on loopback form one
 * tree — the caller's span, B's submit span, the run's span, a span per step, and under each step the
 * provider call (with the GenAI attributes, its tokens and cost) or the tool call it made.
 */
@ExtendWith(SharedPostgres.class)
class RunTracesTest {
  private static FakeCollector collector;
  private static FakeOpenAi provider;
  private static TestNode nodeA;
  private static TestNode nodeB;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    collector = FakeCollector.start();
    provider = new FakeOpenAi();
    Map<String, Object> settings = new HashMap<>(FakeOpenAi.NO_RETRIES);
    settings.put("orrery.tracing.otlp-endpoint", collector.endpoint());
    settings.put("orrery.tracing.export-delay", "200ms");
    settings.put("pekko.cluster.sharding.rebalance-interval", "1h");
    settings.put("pekko.cluster.jmx.multi-mbeans-in-same-jvm", "on");
    nodeA = TestNode.start(db, settings, provider.env());
    nodeB = TestNode.startJoining(nodeA, db, settings);
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (nodeB != null) nodeB.close();
    } finally {
      try {
        provider.close(nodeA);
      } finally {
        collector.close();
      }
    }
  }

  @Test
  void aRunsSpansFormOneTraceAcrossTwoNodesWithTheGenAiAttributes() {
    String callerSpan = null;
    String traceId = null;
    String runId = null;
    for (int attempt = 0; attempt < 20 && runId == null; attempt++) {
      traceId = hex(16);
      callerSpan = hex(8);
      var submitted = nodeB.api().postJson("/api/v1/runs", workflow(),
          Map.of("traceparent", "00-" + traceId + "-" + callerSpan + "-01"));
      assertEquals(201, submitted.status(), () -> "submit: " + submitted.body());
      String id = submitted.body().get("run_id").asText();
      if (nodeA.hostsRun(id)) {
        runId = id;
      } else {
        nodeB.api().postJson("/api/v1/runs/" + id + "/cancel", Map.of("reason", "not on node A"));
      }
    }
    assertNotNull(runId, "20 runs in a row started on node B");
    assertFalse(nodeB.hostsRun(runId), "the run executes on node A only");
    JsonNode run = nodeA.awaitFinished(runId, Duration.ofSeconds(60));
    assertEquals("SUCCEEDED", run.get("status").asText(), () -> "run: " + run);
    assertEquals(traceId, run.get("trace_id").asText(), "the run names its trace");
    JsonNode accepted = nodeA.journal(runId).get(0);
    assertEquals("RunAccepted", accepted.get("type").asText());
    assertEquals(traceId, accepted.at("/data/trace/trace_id").asText(), "the journal records the trace");

    String trace = traceId;
    nodeA.eventually(Duration.ofSeconds(30), () -> {
      List<String> names = collector.spansOf(trace).stream().map(ReceivedSpan::name).toList();
      assertTrue(names.contains("run traced") && names.stream().filter(n -> n.startsWith("step ")).count() == 3
          && names.stream().filter(n -> n.startsWith("chat ")).count() == 2
          && names.contains("execute_tool calculator") && names.contains("POST /api/v1/runs"),
          () -> "every span of the run arrived: " + names);
    });
    List<ReceivedSpan> spans = collector.spansOf(trace);
    assertEquals(8, spans.size(), () -> "one span each, nothing twice: " + spans.stream().map(ReceivedSpan::name).toList());

    ReceivedSpan submit = one(spans, "POST /api/v1/runs");
    assertEquals(callerSpan, submit.parentSpanId(), "the submit continues the caller's span");
    assertEquals("SPAN_KIND_SERVER", submit.kind());
    assertEquals((long) URI.create(nodeB.api().baseUrl()).getPort(), submit.attributes().get("server.port"),
        "the submit span was made by node B, which took the request");

    ReceivedSpan runSpan = one(spans, "run traced");
    assertEquals(submit.spanId(), runSpan.parentSpanId(), "the run is a child of its submit");
    assertEquals(runId, runSpan.attribute("orrery.run_id"));
    assertEquals("demo", runSpan.attribute("orrery.tenant_id"));
    assertEquals("SUCCEEDED", runSpan.attribute("orrery.status"));
    assertEquals(nodeA.clusterAddress(), runSpan.attribute("orrery.cluster_node"), "node A ran it");
    assertNotEquals(nodeA.clusterAddress(), nodeB.clusterAddress());

    for (String step : List.of("draft", "total", "critique")) {
      ReceivedSpan s = one(spans, "step " + step);
      assertEquals(runSpan.spanId(), s.parentSpanId(), step + " is a step of the run");
      assertEquals(nodeA.clusterAddress(), s.resource().get("service.instance.id"), "node A's spans");
      assertEquals("1", s.attribute("orrery.attempt"));
      assertTrue(s.startNanos() >= runSpan.startNanos() && s.endNanos() <= runSpan.endNanos(),
          step + " lies within the run");
    }
    assertEquals("tool", one(spans, "step total").attribute("orrery.node_kind"));
    ReceivedSpan tool = one(spans, "execute_tool calculator");
    assertEquals(one(spans, "step total").spanId(), tool.parentSpanId(), "the tool call is its step's");
    assertEquals("calculator", tool.attribute("gen_ai.tool.name"));

    for (String step : List.of("draft", "critique")) {
      ReceivedSpan stepSpan = one(spans, "step " + step);
      JsonNode node = run.at("/nodes/" + step);
      List<ReceivedSpan> calls = spans.stream()
          .filter(s -> s.name().startsWith("chat ") && stepSpan.spanId().equals(s.parentSpanId())).toList();
      assertEquals(1, calls.size(), () -> step + " made one provider call: " + calls);
      ReceivedSpan llm = calls.get(0);
      assertEquals("SPAN_KIND_CLIENT", llm.kind());
      assertEquals("chat", llm.attribute("gen_ai.operation.name"));
      assertEquals("openai", llm.attribute("gen_ai.system"));
      assertEquals(node.get("model").asText(), llm.attribute("gen_ai.request.model"), "the model the step used");
      assertEquals(node.at("/usage/tokens_in").asLong(), llm.attributes().get("gen_ai.usage.input_tokens"));
      assertEquals(node.at("/usage/tokens_out").asLong(), llm.attributes().get("gen_ai.usage.output_tokens"));
      assertTrue(node.at("/usage/tokens_in").asLong() > 0, "the provider reported usage");
      assertEquals(node.at("/usage/cost_micros").asLong(), llm.attributes().get("orrery.cost_micros"));
      assertEquals("demo", llm.attribute("orrery.tenant_id"));
    }
    assertEquals("orrery", runSpan.resource().get("service.name"));
  }

  private static ReceivedSpan one(List<ReceivedSpan> spans, String name) {
    List<ReceivedSpan> named = spans.stream().filter(s -> s.name().equals(name)).toList();
    assertEquals(1, named.size(), () -> "one span '" + name + "': " + named);
    return named.get(0);
  }

  private static String hex(int bytes) {
    byte[] b = new byte[bytes];
    ThreadLocalRandom.current().nextBytes(b);
    b[0] |= 1; // never all zeros
    return HexFormat.of().formatHex(b);
  }

  /** An LLM step, a tool step and an LLM step reading the first. */
  private static Map<String, Object> workflow() {
    return Map.of(
        "workflow", Map.of("name", "traced", "version", 1, "inputs", Map.of("topic", Map.of("type", "string")),
            "nodes", List.of(
                Map.of("id", "draft", "type", "llm", "prompt", "Write about {{inputs.topic}}"),
                Map.of("id", "total", "type", "tool", "tool", "calculator",
                    "arguments", Map.of("expression", "6 * 7"), "depends_on", List.of("draft")),
                Map.of("id", "critique", "type", "llm", "prompt", "Critique: {{draft.output}} ({{total.output}})"))),
        "inputs", Map.of("topic", "orbits"));
  }
}
