package dev.orrery.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.port.AgentAnswer;
import dev.orrery.core.port.AgentPort;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.LlmResult;
import dev.orrery.core.port.RouteDefinition;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.workflow.WorkflowParser;
import dev.orrery.core.workflow.WorkflowSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A run records what its agents and routes resolved to when it was accepted, and its steps ask for
 * exactly that, also after recovery, while a run started after a redefinition takes the new one. On the
 * persistence testkit's journal, with ports that record what they are asked.
 */
class RunPinningTest {
  private static final ActorTestKit kit = ActorTestKit.create(
      EventSourcedBehaviorTestKit.config().withFallback(com.typesafe.config.ConfigFactory.load()));
  private static final RunSettings SETTINGS =
      new RunSettings(100, Duration.ofMinutes(5), Duration.ofSeconds(5), Duration.ofMillis(200));

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  /** An LLM port with routes: each route's definition names the current {@code provider}; calls never answer. */
  static final class RoutedPort implements LlmPort {
    final AtomicReference<String> provider = new AtomicReference<>("alpha");
    final ConcurrentLinkedQueue<LlmRequest> calls = new ConcurrentLinkedQueue<>();

    @Override
    public CompletionStage<LlmResult> complete(LlmRequest request) {
      calls.add(request);
      return new CompletableFuture<>();
    }

    @Override
    public RouteDefinition routeFor(String route, String model) {
      if ("nowhere".equals(route)) return null;
      return new RouteDefinition(route == null ? "default" : route, model, "fallback", 1,
          List.of(new RouteDefinition.Candidate(provider.get(), model == null ? "small" : model, null)));
    }

    LlmRequest callOf(String nodeId) {
      return calls.stream().filter(c -> c.nodeId().startsWith(nodeId)).findFirst().orElse(null);
    }
  }

  /** Agents whose active version is {@code active}; invocations are recorded and never answer. */
  static final class VersionedAgents implements AgentPort {
    record Call(String agent, Integer version, String invocationId, String instanceId) {}

    final AtomicInteger active = new AtomicInteger(3);
    final ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
    volatile boolean registryDown;

    @Override
    public CompletionStage<AgentAnswer> execute(String tenantId, String agentName, Integer version, String task,
        JsonNode context, String instanceId, String invocationId, String traceparent) {
      calls.add(new Call(agentName, version, invocationId, instanceId));
      return new CompletableFuture<>();
    }

    @Override
    public CompletionStage<Map<String, Integer>> activeVersions(String tenantId, Set<String> agentNames) {
      if (registryDown) return CompletableFuture.failedFuture(new StepFailure("TIMEOUT", "the registry did not answer", true));
      return CompletableFuture.completedFuture(agentNames.contains("writer") ? Map.of("writer", active.get()) : Map.of());
    }
  }

  private static final WorkflowSpec CALLS = WorkflowParser.parse(String.join("\n",
      "name: calls",
      "inputs: {parts: {type: array}}",
      "nodes:",
      "  - {id: plain, type: llm, prompt: 'Hello'}",
      "  - {id: fast, type: llm, route: quick, prompt: 'Quick'}",
      "  - {id: exact, type: llm, model: big-one, prompt: 'Exact'}",
      "  - {id: lost, type: llm, route: nowhere, prompt: 'Lost'}",
      "  - {id: each, type: map, over: inputs.parts, node: {type: llm, route: quick, prompt: 'Part {{item}}'}}"));

  private static final WorkflowSpec WRITING = WorkflowParser.parse(String.join("\n",
      "name: writing",
      "nodes:",
      "  - {id: write, type: agent, agent: writer, prompt: 'Write about tides'}",
      "  - {id: check, type: agent, agent: nobody, prompt: 'Check it'}"));

  @Test
  void eachLlmNodesRouteIsRecordedAtAcceptanceAndEveryCallCarriesIt() {
    RoutedPort llm = new RoutedPort();
    var run = EventSourcedBehaviorTestKit.<RunEntity.Command, RunEvent, RunState>create(kit.system(),
        RunEntity.create("demo|" + RunIds.newRunId(), new RunEntity.Setup(llm, Clock.systemUTC(), SETTINGS,
            new WorkflowCache(16)), null));
    var started = run.<StatusReply<RunEntity.Started>>runCommand(
        replyTo -> new RunEntity.Start(CALLS, Map.of("parts", List.of("x", "y")), null, "h", replyTo));
    assertTrue(started.reply().isSuccess(), () -> started.reply().toString());
    RunPins pins = ((RunEvent.RunAccepted) started.events().get(0)).pins();
    assertTrue(pins.recorded());
    assertEquals(Set.of("plain", "fast", "exact", "each"), pins.routes().keySet(), "'lost' has no route to record");
    assertEquals("default", pins.route("plain").route());
    assertEquals("quick", pins.route("fast").route());
    assertEquals("big-one", pins.route("exact").model());
    assertEquals("quick", pins.route("each").route(), "a map node's per-item route");
    assertEquals(pins, started.state().pins());
    assertEquals(pins, started.reply().getValue().run().pins(), "the run's view shows them");

    llm.provider.set("beta"); // the routes are redefined: this run keeps what it recorded
    TestProbe<Object> probe = kit.createTestProbe();
    probe.awaitAssert(() -> {
      for (String node : List.of("plain", "fast", "exact", "lost", "each")) {
        assertTrue(llm.callOf(node) != null, node + " called");
      }
      return null;
    });
    for (String node : List.of("plain", "fast", "exact", "each")) {
      assertEquals(pins.route(node), llm.callOf(node).pinnedRoute(), node);
      assertEquals("alpha", llm.callOf(node).pinnedRoute().candidates().get(0).provider());
    }
    assertNull(llm.callOf("lost").pinnedRoute(), "unpinned: the port's route when called, failing as it would have");
  }

  @Test
  void anAgentNodeRunsTheVersionPinnedAtAcceptanceAlsoAfterRecoveryWhileNewRunsTakeTheNewOne() {
    RoutedPort llm = new RoutedPort();
    VersionedAgents agents = new VersionedAgents();
    var setup = new RunEntity.Setup(llm, Clock.systemUTC(), SETTINGS, new WorkflowCache(16), RunListener.NONE, null,
        agents);
    String before = "demo|" + RunIds.newRunId();
    ActorRef<RunEntity.Command> first = kit.spawn(RunEntity.create(before, setup, null));
    RunView started = start(first, WRITING, null);
    assertEquals(new RunPins.AgentPin("writer", 3), started.pins().agents().get("write"));
    assertFalse(started.pins().agents().containsKey("check"), "an agent the tenant lacks is not pinned");
    awaitCall(agents, RunIds.runIdOf(before) + "/write/1", 3);
    awaitCall(agents, RunIds.runIdOf(before) + "/check/1", null);

    agents.active.set(4); // the agent is redefined
    String after = "demo|" + RunIds.newRunId();
    RunView later = start(kit.spawn(RunEntity.create(after, setup, null)), WRITING, null);
    assertEquals(4, later.pins().agentVersion("write"));
    awaitCall(agents, RunIds.runIdOf(after) + "/write/1", 4);

    // The first run's node goes away with its step out; recovered, it asks for its own version again.
    TestProbe<Object> watcher = kit.createTestProbe();
    first.tell(RunEntity.Passivate.INSTANCE);
    watcher.expectTerminated(first);
    String instance = agents.calls.stream().filter(c -> c.invocationId().equals(RunIds.runIdOf(before) + "/write/1"))
        .findFirst().orElseThrow().instanceId();
    assertEquals("step:" + RunIds.runIdOf(before) + ":write:1", instance, "the instance is named after the step");
    agents.calls.clear();
    ActorRef<RunEntity.Command> recovered = kit.spawn(RunEntity.create(before, setup, null));
    awaitCall(agents, RunIds.runIdOf(before) + "/write/1", 3);
    assertEquals(instance, agents.calls.stream().filter(c -> c.invocationId().equals(RunIds.runIdOf(before) + "/write/1"))
        .findFirst().orElseThrow().instanceId(), "the re-dispatch reaches the same instance, which joins its invocation");
    recovered.tell(RunEntity.Passivate.INSTANCE);
  }

  @Test
  void aForkKeepsTheOriginalsPinsWhereItsNodesAreTheSame() {
    RoutedPort llm = new RoutedPort();
    VersionedAgents agents = new VersionedAgents();
    agents.active.set(5);
    llm.provider.set("beta");
    var setup = new RunEntity.Setup(llm, Clock.systemUTC(), SETTINGS, new WorkflowCache(16), RunListener.NONE, null,
        agents);
    WorkflowSpec spec = WorkflowParser.parse(String.join("\n",
        "name: mixed",
        "nodes:",
        "  - {id: write, type: agent, agent: writer, prompt: 'Write'}",
        "  - {id: kept, type: llm, prompt: 'Kept'}",
        "  - {id: changed, type: llm, model: other-model, prompt: 'Changed'}"));
    // The original ran these nodes on route default over provider alpha, and agent version 3.
    RouteDefinition then = new RouteDefinition("default", null, "fallback", 1,
        List.of(new RouteDefinition.Candidate("alpha", "small", null)));
    var original = new RunPins(true, Map.of("write", new RunPins.AgentPin("writer", 3)),
        Map.of("kept", then, "changed", then));
    RunView fork = start(kit.spawn(RunEntity.create("demo|" + RunIds.newRunId(), setup, null)), spec, original);
    assertEquals(3, fork.pins().agentVersion("write"), "the original's agent version");
    assertEquals(original.route("kept"), fork.pins().route("kept"), "the original's route definition");
    assertEquals("other-model", fork.pins().route("changed").model(), "a node whose model changed pins afresh");
    assertEquals("beta", fork.pins().route("changed").candidates().get(0).provider());
  }

  @Test
  void aStartWhoseAgentsCannotBeReadIsRefusedAndRecordsNothing() {
    VersionedAgents agents = new VersionedAgents();
    agents.registryDown = true;
    var setup = new RunEntity.Setup(new RoutedPort(), Clock.systemUTC(), SETTINGS, new WorkflowCache(16),
        RunListener.NONE, null, agents);
    ActorRef<RunEntity.Command> run = kit.spawn(RunEntity.create("demo|" + RunIds.newRunId(), setup, null));
    TestProbe<StatusReply<RunEntity.Started>> reply = kit.createTestProbe();
    run.tell(new RunEntity.Start(WRITING, Map.of(), null, "h", reply.getRef()));
    StatusReply<RunEntity.Started> refused = reply.receiveMessage();
    assertTrue(refused.isError());
    assertEquals(ErrorCode.TIMEOUT, ErrorCode.codeOf(refused.getError().getMessage()).orElseThrow(),
        refused.getError().getMessage());
    TestProbe<StatusReply<RunView>> get = kit.createTestProbe();
    run.tell(new RunEntity.Get(get.getRef()));
    assertTrue(get.receiveMessage().isError(), "no run was accepted");
    assertTrue(agents.calls.isEmpty());
  }

  private static RunView start(ActorRef<RunEntity.Command> run, WorkflowSpec spec, RunPins inherited) {
    TestProbe<StatusReply<RunEntity.Started>> reply = kit.createTestProbe();
    run.tell(new RunEntity.Start(spec, Map.of(), null, "h", null, inherited, reply.getRef()));
    StatusReply<RunEntity.Started> answer = reply.receiveMessage();
    assertTrue(answer.isSuccess(), () -> answer.toString());
    return answer.getValue().run();
  }

  private static void awaitCall(VersionedAgents agents, String invocationId, Integer version) {
    kit.createTestProbe().awaitAssert(() -> {
      var call = agents.calls.stream().filter(c -> c.invocationId().equals(invocationId)).findFirst();
      assertTrue(call.isPresent(), "invoked " + invocationId + ": " + agents.calls);
      assertEquals(version, call.get().version(), invocationId);
      return null;
    });
  }
}
