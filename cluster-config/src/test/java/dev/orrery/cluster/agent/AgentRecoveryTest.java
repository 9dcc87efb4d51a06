package dev.orrery.cluster.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import dev.orrery.core.port.ToolCall;
import dev.orrery.router.fake.CannedAnswer;
import dev.orrery.router.fake.FakeProviderServer;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * An agent's node dies mid-loop, on real PostgreSQL: one of two parallel tool calls has its result in the
 * journal, the other is still running. The next node brings the instance back by itself (remembered
 * entities), runs only the call without a result (with its same idempotency key), asks the model for
 * the next turn, and answers the caller's retry with the same invocation's answer.
 */
@ExtendWith(SharedPostgres.class)
class AgentRecoveryTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void anInstanceResumesFromItsEventsWithoutRerunningCompletedToolCalls(SharedPostgres.TestDatabase db)
      throws Exception {
    ActorTestKit fakes = ActorTestKit.create();
    FakeProviderServer provider = FakeProviderServer.start(fakes.system());
    provider.setRecording(true);
    TestTools tools = new TestTools();
    // The caller in flight when the first node stops need not be drained for long.
    Map<String, Object> settings = Map.of("orrery.llm.provider-defaults.max-retries", 0,
        "orrery.http.drain-timeout", "1s");
    Map<String, String> env = Map.of("OPENAI_API_KEY", "test-key", "OPENAI_BASE_URL", provider.openAiBaseUrl());
    Map<String, String> key = Map.of("Idempotency-Key", "nightly-digest");
    Map<String, Object> request = Map.of("task_description", "Echo and pass the gate");
    try {
      provider.enqueueAnswers(
          CannedAnswer.toolCalls(new ToolCall("call_e", "echo", "{\"text\": \"hello\"}"),
              new ToolCall("call_g", "gate", "{}")),
          CannedAnswer.text("both tools answered"));
      TestNode first = TestNode.start(db, settings, env, null, tools);
      try {
        ApiClient.Response created = first.api().postJson("/api/v1/agents", Map.of("name", "gated",
            "system_prompt", "Call echo and gate together, then answer.", "tools", List.of("echo", "gate")));
        assertEquals(201, created.status(), created.body().toString());
        // The caller waits; its node dies under it.
        CompletableFuture.runAsync(() -> first.api().postJson("/api/v1/agents/gated/execute", request, key));
        TestProbe.create(first.node().system()).awaitAssert(WAIT, () -> {
          assertEquals(1, tools.calls("gate").size(), "the gate call is out");
          assertTrue(journalTypes(db).contains("ToolResultRecorded"), "the echo result is in the journal");
          return null;
        });
      } finally {
        // Not a drain: the system ends with the gate call in flight.
        first.node().system().terminate();
        first.node().system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
      assertEquals(1, journalTypes(db).stream().filter("ToolResultRecorded"::equals).count(),
          "only the echo result was recorded before the stop");
      tools.openGate("gate passed");

      try (TestNode second = TestNode.start(db, settings, env, null, tools)) {
        // Nobody asks: the remembered instance comes back and finishes on its own.
        TestProbe.create(second.node().system()).awaitAssert(WAIT, () -> {
          assertTrue(journalTypes(db).contains("AnswerGiven"), "the instance finished: " + journalTypes(db));
          return null;
        });
        ApiClient.Response retry = second.api().postJson("/api/v1/agents/gated/execute", request, key);
        assertEquals(200, retry.status(), retry.body().toString());
        assertEquals("both tools answered", retry.body().get("result").asText());
        assertEquals(2, retry.body().at("/metadata/tool_calls").asInt());
      }

      assertEquals(1, tools.calls("echo").size(), "the recorded call did not run again");
      List<TestTools.Call> gate = tools.calls("gate");
      assertEquals(2, gate.size(), "the unrecorded call ran again");
      assertEquals(gate.get(0).key(), gate.get(1).key(), "with the same idempotency key");
      assertEquals(2, provider.requests().size(), "the model was asked once per turn");
      JsonNode messages = provider.requests().get(1).json().get("messages");
      assertEquals("gate passed", messages.get(messages.size() - 1).get("content").asText());
      List<String> types = journalTypes(db);
      assertEquals(List.of("InvocationStarted", "ModelReplied", "ToolCallRequested", "ToolCallRequested",
          "ToolResultRecorded", "ToolResultRecorded", "ModelReplied", "AnswerGiven"), types);
    } finally {
      provider.close();
      fakes.shutdownTestKit();
    }
  }

  /** The event types of the demo tenant's agent instances, in order, straight from the journal. */
  private static List<String> journalTypes(SharedPostgres.TestDatabase db) throws Exception {
    try (var conn = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
        var st = conn.prepareStatement("SELECT event_ser_manifest FROM event_journal "
            + "WHERE persistence_id LIKE 'agent|demo|%' ORDER BY persistence_id, sequence_number")) {
      List<String> types = new ArrayList<>();
      try (var rs = st.executeQuery()) {
        while (rs.next()) {
          String manifest = rs.getString(1);
          types.add(manifest.substring(manifest.lastIndexOf('$') + 1));
        }
      }
      return types;
    }
  }
}
