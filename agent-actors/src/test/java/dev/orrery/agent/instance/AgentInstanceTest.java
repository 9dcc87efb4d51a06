package dev.orrery.agent.instance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import dev.orrery.agent.definition.AgentDefinition;
import dev.orrery.agent.definition.AgentVersion;
import dev.orrery.agent.instance.AgentEvent.InvocationStarted;
import dev.orrery.agent.instance.AgentEvent.ModelReplied;
import dev.orrery.agent.instance.AgentEvent.ToolResultRecorded;
import dev.orrery.core.port.AgentAnswer;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.port.LlmResult;
import dev.orrery.core.port.ToolCall;
import dev.orrery.core.port.Usage;
import dev.orrery.router.fake.CannedAnswer;
import dev.orrery.router.fake.FakeProviderServer;
import dev.orrery.router.fake.RecordedRequest;
import dev.orrery.router.provider.OpenAiAdapter;
import dev.orrery.router.provider.ProviderCall;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.apache.pekko.persistence.testkit.javadsl.SnapshotTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent loop against the fake provider speaking the OpenAI wire, with an in-memory journal that
 * serializes every event and snapshot (as the real one does) and outlives the actors, so a stopped
 * instance can be recovered.
 */
class AgentInstanceTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ActorTestKit kit = ActorTestKit.create(PersistenceTestKitPlugin.getInstance().config()
      .withFallback(PersistenceTestKitSnapshotPlugin.config())
      .withFallback(ConfigFactory.load()));
  private static final Duration WAIT = Duration.ofSeconds(15);

  private FakeProviderServer server;
  private LlmPort llm;
  private final PersistenceTestKit journal = PersistenceTestKit.create(kit.system());
  private final SnapshotTestKit snapshots = SnapshotTestKit.create(kit.system());

  @BeforeEach
  void start() {
    server = FakeProviderServer.start(kit.system());
    OpenAiAdapter adapter = new OpenAiAdapter("fake-openai", server.openAiBaseUrl(), "sk-test", kit.system());
    llm = request -> adapter.call(new ProviderCall(request.model() != null ? request.model() : "fake-small",
            request.messages(), request.maxTokens(), request.temperature(), request.outputSchema(), request.tools(),
            null, request.timeout()))
        .thenApply(r -> new LlmResult(r.text(), new Usage(r.tokensIn(), r.tokensOut(), 0), "fake-openai", r.model(),
            List.of("fake-openai"), r.toolCalls()));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @AfterAll
  static void shutdown() throws Exception {
    Http.get(kit.system()).shutdownAllConnectionPools().toCompletableFuture().get(10, TimeUnit.SECONDS);
    kit.shutdownTestKit();
  }

  @Test
  void aToolConversationRunsParallelCallsAndFeedsResultsBack() throws Exception {
    // The two calls of the second turn each wait until both have started: run one after the other, they hang.
    CountDownLatch bothStarted = new CountDownLatch(2);
    RecordingTools tools = new RecordingTools()
        .withAnswer("calculator", "4")
        .with("lookup", args -> {
          bothStarted.countDown();
          return CompletableFuture.supplyAsync(() -> {
            try {
              return bothStarted.await(10, TimeUnit.SECONDS) ? "found " + args : "the other call never started";
            } catch (InterruptedException e) {
              throw new IllegalStateException(e);
            }
          });
        });
    server.enqueueAnswers(
        CannedAnswer.toolCalls(new ToolCall("call_1", "calculator", "{\"input\":\"2+2\"}")),
        CannedAnswer.toolCalls(new ToolCall("call_2", "lookup", "{\"input\":\"paris\"}"),
            new ToolCall("call_3", "lookup", "{\"input\":\"rome\"}")),
        CannedAnswer.text("{\"answer\": \"4, Paris and Rome\"}"));
    AgentVersion agent = agent("""
        name: researcher
        system_prompt: You research.
        tools: [calculator, lookup]
        output_schema: {type: object, properties: {answer: {type: string}}, required: [answer]}
        """);
    String instanceId = UUID.randomUUID().toString();
    var instance = kit.spawn(AgentInstance.create(AgentInstance.entityId("acme", instanceId), setup(tools)));

    AgentAnswer answer = invoke(instance, "inv-1", agent, "Compute and look up", json("{\"city\": \"Paris\"}"));

    assertTrue(answer.succeeded(), answer.errorMessage());
    assertEquals("4, Paris and Rome", answer.result().path("answer").asText());
    assertEquals(3, answer.turns());
    assertEquals(3, answer.toolCalls());
    assertEquals("fake-openai", answer.provider());
    assertTrue(answer.usage().tokensIn() > 0 && answer.usage().tokensOut() > 0, answer.usage().toString());
    assertEquals(List.of(instanceId + "/1/1/tool/call_1", instanceId + "/1/2/tool/call_2",
        instanceId + "/1/2/tool/call_3"), tools.calls().stream().map(RecordingTools.Call::key).toList());
    assertTrue(tools.calls("lookup").stream().allMatch(c -> c.tenantId().equals("acme")));

    List<RecordedRequest> requests = server.requests();
    assertEquals(3, requests.size());
    JsonNode first = requests.get(0).json();
    assertEquals("calculator", first.path("tools").path(0).path("function").path("name").asText());
    assertEquals("system", first.path("messages").path(0).path("role").asText());
    assertTrue(first.path("messages").path(1).path("content").asText().contains("\"city\":\"Paris\""),
        "the context goes with the task");
    JsonNode second = requests.get(1).json().path("messages");
    assertEquals("call_1", second.path(2).path("tool_calls").path(0).path("id").asText());
    assertEquals("call_1", second.path(3).path("tool_call_id").asText());
    assertEquals("4", second.path(3).path("content").asText());
    JsonNode third = requests.get(2).json().path("messages");
    assertEquals(7, third.size(), "system, user, assistant, tool, assistant with two calls, two tool results");
    assertEquals(2, third.path(4).path("tool_calls").size());
    assertTrue(third.path(5).path("content").asText().startsWith("found "));

    List<Object> events = journal.persistedInStorage(AgentInstance.persistenceId(
        AgentInstance.entityId("acme", instanceId)).id());
    assertEquals(List.of("InvocationStarted", "ModelReplied", "ToolCallRequested", "ToolResultRecorded",
        "ModelReplied", "ToolCallRequested", "ToolCallRequested", "ToolResultRecorded", "ToolResultRecorded",
        "ModelReplied", "AnswerGiven"), events.stream().map(e -> e.getClass().getSimpleName()).toList());
    assertEquals(agent, ((InvocationStarted) events.get(0)).agent(), "the first invocation pins the version");
  }

  @Test
  void anInvalidAnswerIsRepairedOnce() throws Exception {
    server.enqueueAnswers(CannedAnswer.text("I think it is positive."),
        CannedAnswer.text("```json\n{\"label\": \"positive\"}\n```"));
    AgentVersion agent = agent("""
        name: labeler
        system_prompt: Label the sentiment.
        output_schema: {type: object, properties: {label: {enum: [positive, negative]}}, required: [label]}
        """);
    var instance = kit.spawn(AgentInstance.create(AgentInstance.entityId("acme", UUID.randomUUID().toString()),
        setup(new RecordingTools())));

    AgentAnswer answer = invoke(instance, "inv-1", agent, "Great product!", null);

    assertTrue(answer.succeeded(), answer.errorMessage());
    assertEquals("positive", answer.result().path("label").asText());
    assertEquals(2, answer.turns());
    JsonNode repair = server.requests().get(1).json().path("messages");
    JsonNode last = repair.path(repair.size() - 1);
    assertEquals("user", last.path("role").asText());
    assertTrue(last.path("content").asText().contains("does not satisfy the required JSON Schema"),
        last.path("content").asText());
    assertEquals("object", server.requests().get(0).json().path("response_format").path("json_schema")
        .path("schema").path("type").asText(), "the schema is asked for on the wire too");
  }

  @Test
  void anAnswerStillInvalidAfterTheRepairFails() throws Exception {
    server.enqueueAnswers(CannedAnswer.text("positive"), CannedAnswer.text("{\"label\": \"great\"}"));
    AgentVersion agent = agent("""
        name: labeler
        system_prompt: Label the sentiment.
        output_schema: {type: object, properties: {label: {enum: [positive, negative]}}, required: [label]}
        """);
    var instance = kit.spawn(AgentInstance.create(AgentInstance.entityId("acme", UUID.randomUUID().toString()),
        setup(new RecordingTools())));

    AgentAnswer answer = invoke(instance, "inv-1", agent, "Great product!", null);

    assertEquals(AgentInstance.INVALID_OUTPUT, answer.errorCode());
    assertTrue(answer.errorMessage().contains("after one repair"), answer.errorMessage());
    assertNull(answer.result());
    assertEquals(2, server.requests().size(), "one repair, not more");
  }

  @Test
  void maxIterationsEndsALoopThatKeepsCallingTools() throws Exception {
    RecordingTools tools = new RecordingTools().withAnswer("lookup", "nothing yet");
    server.enqueueAnswers(
        CannedAnswer.toolCalls(new ToolCall("a", "lookup", "{\"input\":\"1\"}")),
        CannedAnswer.toolCalls(new ToolCall("b", "lookup", "{\"input\":\"2\"}")),
        CannedAnswer.toolCalls(new ToolCall("c", "lookup", "{\"input\":\"3\"}")));
    AgentVersion agent = agent("""
        name: looper
        system_prompt: Look things up.
        tools: [lookup]
        max_iterations: 2
        """);
    var instance = kit.spawn(AgentInstance.create(AgentInstance.entityId("acme", UUID.randomUUID().toString()),
        setup(tools)));

    AgentAnswer answer = invoke(instance, "inv-1", agent, "Find it", null);

    assertEquals(AgentInstance.MAX_ITERATIONS, answer.errorCode());
    assertTrue(answer.errorMessage().contains("max_iterations (2)"), answer.errorMessage());
    assertEquals(2, server.requests().size());
    assertEquals(1, tools.calls().size(), "the tools of the last reply are not run");
  }

  @Test
  void aConversationContinuedAfterMaxIterationsAnswersTheCallsLeftOpen() throws Exception {
    RecordingTools tools = new RecordingTools().withAnswer("lookup", "nothing");
    server.enqueueAnswers(CannedAnswer.toolCalls(new ToolCall("open", "lookup", "{}")), CannedAnswer.text("Fine."));
    AgentVersion agent = agent("name: looper\nsystem_prompt: Look.\ntools: [lookup]\nmax_iterations: 1\n");
    var instance = kit.spawn(AgentInstance.create(AgentInstance.entityId("acme", UUID.randomUUID().toString()),
        setup(tools)));
    assertEquals(AgentInstance.MAX_ITERATIONS, invoke(instance, "inv-1", agent, "Find it", null).errorCode());

    AgentAnswer next = invoke(instance, "inv-2", agent, "Just say fine", null);

    assertEquals("Fine.", next.result().asText());
    JsonNode messages = server.requests().get(1).json().path("messages");
    assertEquals("open", messages.path(3).path("tool_call_id").asText(), messages.toString());
    assertTrue(messages.path(3).path("content").asText().startsWith("not run"));
    assertEquals("user", messages.path(4).path("role").asText());
    assertTrue(tools.calls().isEmpty());
  }

  @Test
  void repeatedOrMissingCallIdsAreMadeUnique() {
    List<ToolCall> calls = AgentInstance.uniqueIds(List.of(new ToolCall("a", "t", "{}"), new ToolCall("a", "t", "{}"),
        new ToolCall("", "t", "{}")), 3);
    assertEquals(List.of("a", "call_3_1", "call_3_2"), calls.stream().map(ToolCall::id).toList());
  }

  @Test
  void aToolTheAgentDoesNotHaveIsReportedToTheModelNotRun() throws Exception {
    RecordingTools tools = new RecordingTools().withAnswer("shell", "should not run");
    server.enqueueAnswers(CannedAnswer.toolCalls(new ToolCall("x", "shell", "{\"input\":\"rm -rf /\"}")),
        CannedAnswer.text("I cannot use that tool."));
    AgentVersion agent = agent("name: safe\nsystem_prompt: Help.\n");
    var instance = kit.spawn(AgentInstance.create(AgentInstance.entityId("acme", UUID.randomUUID().toString()),
        setup(tools)));

    AgentAnswer answer = invoke(instance, "inv-1", agent, "Clean up", null);

    assertEquals("I cannot use that tool.", answer.result().asText());
    assertTrue(tools.calls().isEmpty());
    JsonNode toolResult = server.requests().get(1).json().path("messages").path(3);
    assertTrue(toolResult.path("content").asText().startsWith("error: agent 'safe' has no tool named 'shell'"),
        toolResult.toString());
  }

  @Test
  void aConversationContinuesOnTheSameInstanceWithItsMemory() throws Exception {
    server.enqueueAnswers(CannedAnswer.text("Paris."), CannedAnswer.text("About 2.1 million."));
    AgentVersion agent = agent("name: chat\nsystem_prompt: Be brief.\n");
    var instance = kit.spawn(AgentInstance.create(AgentInstance.entityId("acme", UUID.randomUUID().toString()),
        setup(new RecordingTools())));

    invoke(instance, "inv-1", agent, "Capital of France?", null);
    AgentVersion newer = new AgentVersion("chat", 2, agent.definition(), false, null);
    AgentAnswer second = invoke(instance, "inv-2", newer, "Its population?", null);

    assertEquals("About 2.1 million.", second.result().asText());
    assertEquals(1, second.version(), "an instance keeps the version it started with");
    JsonNode messages = server.requests().get(1).json().path("messages");
    assertEquals(4, messages.size(), "system, first question, first answer, second question");
    assertEquals("Paris.", messages.path(2).path("content").asText());
    AgentAnswer again = invoke(instance, "inv-2", agent, "Its population?", null);
    assertEquals(second, again, "the same invocation again is answered from the journal, not run twice");
    assertEquals(2, server.requests().size());
  }

  @Test
  void aRecoveredInstanceResumesWithoutRerunningCompletedToolCalls() throws Exception {
    AtomicInteger slowCalls = new AtomicInteger();
    CompletableFuture<String> never = new CompletableFuture<>();
    RecordingTools tools = new RecordingTools()
        .withAnswer("fast", "fast result")
        .with("slow", args -> slowCalls.incrementAndGet() == 1 ? never : CompletableFuture.completedFuture("slow result"));
    server.enqueueAnswers(
        CannedAnswer.toolCalls(new ToolCall("f", "fast", "{}"), new ToolCall("s", "slow", "{}")),
        CannedAnswer.text("both done"));
    AgentVersion agent = agent("name: worker\nsystem_prompt: Work.\ntools: [fast, slow]\n");
    String entityId = AgentInstance.entityId("acme", UUID.randomUUID().toString());
    String pid = AgentInstance.persistenceId(entityId).id();
    var first = kit.spawn(AgentInstance.create(entityId, snapshotting(tools)));
    TestProbe<StatusReply<AgentAnswer>> lost = kit.createTestProbe();
    first.tell(new AgentInstance.Invoke("inv-1", agent, "Do both", null, lost.getRef()));

    // Mid-loop: the fast call's result is persisted, the slow one is still running.
    TestProbe<Object> wait = kit.createTestProbe();
    wait.awaitAssert(WAIT, () -> {
      assertTrue(journal.persistedInStorage(pid).stream().anyMatch(e -> e instanceof ToolResultRecorded),
          "the fast result is recorded");
      return null;
    });
    assertEquals(1, slowCalls.get());
    kit.stop(first, WAIT);
    assertFalse(snapshots.persistedInStorage(pid).isEmpty(), "recovery starts from a snapshot");

    var recovered = kit.spawn(AgentInstance.create(entityId, snapshotting(tools)));
    AgentAnswer answer = invoke(recovered, "inv-1", agent, "Do both", null);

    assertTrue(answer.succeeded(), answer.errorMessage());
    assertEquals("both done", answer.result().asText());
    assertEquals(1, tools.calls("fast").size(), "a call whose result was recorded is not run again");
    List<RecordingTools.Call> slow = tools.calls("slow");
    assertEquals(2, slow.size(), "the call without a result runs again");
    assertEquals(slow.get(0).key(), slow.get(1).key(), "with the same idempotency key");
    assertEquals(2, server.requests().size(), "the model call answered before the stop is not made again");
    JsonNode messages = server.requests().get(1).json().path("messages");
    assertEquals("fast result", messages.path(3).path("content").asText());
    assertEquals("slow result", messages.path(4).path("content").asText());
    assertEquals(2, journal.persistedInStorage(pid).stream().filter(e -> e instanceof ModelReplied).count());
    lost.expectNoMessage(Duration.ofMillis(100)); // the stopped incarnation's caller got nothing
  }

  @Test
  void aSecondInvocationWhileOneRunsIsRefused() throws Exception {
    CompletableFuture<String> held = new CompletableFuture<>();
    RecordingTools tools = new RecordingTools().with("slow", args -> held);
    server.enqueueAnswers(CannedAnswer.toolCalls(new ToolCall("s", "slow", "{}")), CannedAnswer.text("done"));
    AgentVersion agent = agent("name: worker\nsystem_prompt: Work.\ntools: [slow]\n");
    var instance = kit.spawn(AgentInstance.create(AgentInstance.entityId("acme", UUID.randomUUID().toString()),
        setup(tools)));
    TestProbe<StatusReply<AgentAnswer>> firstCaller = kit.createTestProbe();
    instance.tell(new AgentInstance.Invoke("inv-1", agent, "first", null, firstCaller.getRef()));
    TestProbe<Object> wait = kit.createTestProbe();
    wait.awaitAssert(WAIT, () -> {
      assertEquals(1, tools.calls().size());
      return null;
    });

    TestProbe<StatusReply<AgentAnswer>> second = kit.createTestProbe();
    instance.tell(new AgentInstance.Invoke("inv-2", agent, "second", null, second.getRef()));
    StatusReply<AgentAnswer> refused = second.expectMessageClass(StatusReply.class, WAIT);
    assertTrue(refused.isError());
    assertTrue(refused.getError().getMessage().startsWith("CONFLICT: "), refused.getError().getMessage());

    held.complete("ok");
    StatusReply<AgentAnswer> done = firstCaller.expectMessageClass(StatusReply.class, WAIT);
    assertEquals("done", done.getValue().result().asText());
    assertFalse(done.isError());
  }

  // ---- helpers -----------------------------------------------------------------------------------------

  private AgentInstance.Setup setup(AgentTools tools) {
    return new AgentInstance.Setup(llm, tools, Clock.systemUTC(),
        AgentSettings.fromConfig(kit.system().settings().config()));
  }

  /** Snapshots every two events: recovery then starts from a (serialized) snapshot of the state. */
  private AgentInstance.Setup snapshotting(AgentTools tools) {
    AgentSettings s = AgentSettings.fromConfig(kit.system().settings().config());
    return new AgentInstance.Setup(llm, tools, Clock.systemUTC(), new AgentSettings(s.llmTimeout(), s.toolTimeout(),
        s.executeTimeout(), s.maxToolOutputChars(), 2, s.idleTimeout()));
  }

  private static AgentVersion agent(String yaml) {
    AgentDefinition d = AgentDefinition.read(yaml, "test");
    return new AgentVersion(d.name(), 1, d, true, null);
  }

  private static AgentAnswer invoke(ActorRef<AgentInstance.Command> instance, String invocationId, AgentVersion agent,
      String task, JsonNode context) {
    TestProbe<StatusReply<AgentAnswer>> probe = kit.createTestProbe();
    instance.tell(new AgentInstance.Invoke(invocationId, agent, task, context, probe.getRef()));
    @SuppressWarnings("unchecked")
    StatusReply<AgentAnswer> reply = probe.expectMessageClass(StatusReply.class, WAIT);
    if (reply.isError()) throw new AssertionError("invocation refused: " + reply.getError().getMessage());
    return reply.getValue();
  }

  private static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }
}
