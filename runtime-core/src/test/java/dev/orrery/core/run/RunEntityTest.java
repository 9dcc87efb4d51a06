package dev.orrery.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.core.ErrorCode;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.LlmResult;
import dev.orrery.core.port.Usage;
import dev.orrery.core.workflow.WorkflowParser;
import dev.orrery.core.workflow.WorkflowSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Run entity's decisions on the persistence testkit's in-memory journal (which also checks that
 * every command, event and state serializes). Steps are answered by hand through {@link RunEntity.StepDone},
 * so each test controls exactly what a step reports and when. Behaviour against a real PostgreSQL
 * journal is proven in cluster-config's integration tests.
 */
class RunEntityTest {
  private static final ActorTestKit kit = ActorTestKit.create(
      EventSourcedBehaviorTestKit.config().withFallback(com.typesafe.config.ConfigFactory.load()));

  /** A port whose calls never answer: the tests answer for it with StepDone. */
  private final ConcurrentLinkedQueue<LlmRequest> calls = new ConcurrentLinkedQueue<>();
  private final LlmPort silent = request -> {
    calls.add(request);
    return new CompletableFuture<LlmResult>();
  };

  private EventSourcedBehaviorTestKit<RunEntity.Command, RunEvent, RunState> run;

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  @BeforeEach
  void setUp() {
    var settings = new RunSettings(100, Duration.ofMinutes(5), Duration.ofSeconds(5), Duration.ofMillis(200));
    var setup = new RunEntity.Setup(silent, Clock.systemUTC(), settings, new WorkflowCache(16));
    run = EventSourcedBehaviorTestKit.create(kit.system(),
        RunEntity.create("demo|" + RunIds.newRunId(), setup, null));
  }

  private static final WorkflowSpec DIAMOND = WorkflowParser.parse(String.join("\n",
      "name: diamond",
      "version: 1",
      "inputs: {topic: {type: string}}",
      "policy: {retry: {max_attempts: 2, backoff_ms: 30000, max_backoff_ms: 60000}}",
      "nodes:",
      "  - {id: a, type: llm, prompt: 'Start with {{inputs.topic}}'}",
      "  - {id: b, type: llm, prompt: 'Left of {{a.output}}'}",
      "  - {id: c, type: llm, prompt: 'Right of {{a.output}}'}",
      "  - {id: d, type: llm, prompt: 'Join {{b.output}} and {{c.output}}'}"));

  private CommandResultWithReply<RunEntity.Command, RunEvent, RunState, StatusReply<RunEntity.Started>> start(
      String key) {
    return run.runCommand(replyTo -> new RunEntity.Start(DIAMOND, Map.of("topic", "tides"), key, "h1", replyTo));
  }

  private static RunEntity.StepDone success(String node, String text) {
    return new RunEntity.StepDone(node, null, 1, new RunEntity.StepOutcome(text, new Usage(10, 5, 3), "simulated",
        "sim-small", null, false));
  }

  @Test
  void startPersistsAcceptanceAndSchedulesOnlyTheRoots() {
    var result = start("k1");
    assertTrue(result.reply().isSuccess());
    assertTrue(result.reply().getValue().created());
    assertInstanceOf(RunEvent.RunAccepted.class, result.events().get(0));
    assertEquals(List.of("a"), scheduled(result.events()));
    assertEquals(RunStatus.RUNNING, result.state().status());
  }

  @Test
  void sameIdempotencyKeyAnswersTheSameRunWithoutNewEvents() {
    start("k1");
    var again = start("k1");
    assertTrue(again.hasNoEvents());
    assertFalse(again.reply().getValue().created());
    var other = run.<StatusReply<RunEntity.Started>>runCommand(
        replyTo -> new RunEntity.Start(DIAMOND, Map.of("topic", "moons"), "k1", "h2", replyTo));
    assertTrue(other.hasNoEvents());
    assertEquals(ErrorCode.CONFLICT, ErrorCode.codeOf(other.reply().getError().getMessage()).orElseThrow());
  }

  @Test
  void aRepeatedStartWithoutAKeyAnswersTheRunAndAnotherRequestIsAConflict() {
    start(null);
    var repeat = start(null);
    assertTrue(repeat.hasNoEvents(), "the edge's second attempt after a lost answer starts nothing");
    assertFalse(repeat.reply().getValue().created());
    var other = run.<StatusReply<RunEntity.Started>>runCommand(
        replyTo -> new RunEntity.Start(DIAMOND, Map.of("topic", "moons"), null, "h2", replyTo));
    assertTrue(other.hasNoEvents());
    assertEquals(ErrorCode.CONFLICT, ErrorCode.codeOf(other.reply().getError().getMessage()).orElseThrow());
  }

  @Test
  void aDiamondRunsBothBranchesTogetherThenJoins() {
    start("k1");
    var afterA = run.runCommand(success("a", "alpha"));
    assertEquals(List.of("b", "c"), scheduled(afterA.events()));
    var afterB = run.runCommand(success("b", "beta"));
    assertEquals(List.of(), scheduled(afterB.events()));
    var afterC = run.runCommand(success("c", "gamma"));
    assertEquals(List.of("d"), scheduled(afterC.events()));
    var afterD = run.runCommand(success("d", "delta"));
    RunState s = afterD.state();
    assertEquals(RunStatus.SUCCEEDED, s.status());
    assertEquals(Map.of("d", "delta"), s.outputs());
    assertEquals(new Usage(40, 20, 12), s.usage());
  }

  @Test
  void maxParallelBoundsTheStepsOutAndFreedSlotsAreRefilled() {
    WorkflowSpec wide = WorkflowParser.parse(String.join("\n",
        "name: wide",
        "policy: {max_parallel: 2}",
        "inputs: {parts: {type: array}}",
        "nodes:",
        "  - {id: solo, type: llm, prompt: 'Alone'}",
        "  - id: fan",
        "    type: map",
        "    over: inputs.parts",
        "    max_parallel: 1",
        "    node: {type: llm, prompt: 'Part {{item}}'}"));
    var started = run.<StatusReply<RunEntity.Started>>runCommand(
        replyTo -> new RunEntity.Start(wide, Map.of("parts", List.of("x", "y", "z")), null, "h", replyTo));
    assertEquals(List.of("fan", "solo"), scheduled(started.events()), "two slots: solo and one item of fan");
    assertEquals(2, started.state().activeSteps());
    var afterSolo = run.runCommand(success("solo", "done"));
    assertEquals(List.of(), scheduled(afterSolo.events()), "the map's own max_parallel of 1 still holds");
    var afterItem = run.runCommand(new RunEntity.StepDone("fan", 0, 1,
        new RunEntity.StepOutcome("x!", Usage.ZERO, "simulated", "sim-small", null, false)));
    var next = (RunEvent.StepScheduled) afterItem.events().get(1);
    assertEquals(1, next.item(), "items run in input order");
  }

  @Test
  void aStepReportedTwiceIsPersistedOnce() {
    start("k1");
    run.runCommand(success("a", "alpha"));
    var duplicate = run.runCommand(success("a", "alpha"));
    assertTrue(duplicate.hasNoEvents());
  }

  @Test
  void aRetryableFailureSchedulesAnotherAttemptThenExhaustionFailsTheRun() {
    start("k1");
    var failure = new RunEntity.StepOutcome(null, null, null, null, RunError.of("PROVIDER_UNAVAILABLE", "down"), true);
    var first = run.runCommand(new RunEntity.StepDone("a", null, 1, failure));
    assertInstanceOf(RunEvent.StepFailed.class, first.events().get(0));
    var retry = (RunEvent.StepRetryScheduled) first.events().get(1);
    assertEquals(2, retry.attempt());
    assertTrue(retry.delayMs() <= 60_000, "backoff is capped by max_backoff_ms");
    assertEquals(NodeStatus.SCHEDULED, first.state().node("a").status());
    // Attempt 2 is not out yet: a report for it is ignored.
    assertTrue(run.runCommand(new RunEntity.StepDone("a", null, 2, failure)).hasNoEvents());
    // The backoff timer is long; deliver its message now instead of waiting for it.
    var due = run.runCommand(new RunEntity.RetryDue("a", 2));
    assertEquals(List.of("a"), scheduled(due.events()));
    var last = run.runCommand(new RunEntity.StepDone("a", null, 2, failure));
    RunState s = last.state();
    assertEquals(RunStatus.FAILED, s.status());
    assertEquals("PROVIDER_UNAVAILABLE", s.error().code());
    assertEquals(NodeStatus.FAILED, s.node("a").status());
    assertEquals(2, s.node("a").attempts());
    assertEquals(NodeStatus.CANCELLED, s.node("d").status());
  }

  @Test
  void cancelEndsTheRunAndLaterReportsAreIgnored() {
    start("k1");
    var cancelled = run.<StatusReply<RunView>>runCommand(replyTo -> new RunEntity.Cancel("user asked", replyTo));
    assertEquals(RunStatus.CANCELLED, cancelled.reply().getValue().status());
    assertEquals(NodeStatus.CANCELLED, cancelled.state().node("a").status());
    assertTrue(run.runCommand(success("a", "late")).hasNoEvents());
    var again = run.<StatusReply<RunView>>runCommand(replyTo -> new RunEntity.Cancel("twice", replyTo));
    assertEquals(ErrorCode.CONFLICT, ErrorCode.codeOf(again.reply().getError().getMessage()).orElseThrow());
  }

  @Test
  void aRecoveredRunHasTheSameStateAndRedispatchesItsOpenSteps() {
    start("k1");
    run.runCommand(success("a", "alpha"));
    RunState before = run.getState();
    calls.clear();
    run.restart();
    assertEquals(before, run.getState());
    // b and c were out when the run stopped: both are called again, with the same idempotency keys.
    org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<Object> probe = kit.createTestProbe();
    probe.awaitAssert(() -> {
      assertEquals(2, calls.size());
      return null;
    });
    assertTrue(calls.stream().anyMatch(r -> r.idempotencyKey().endsWith("/b/1")));
    assertTrue(calls.stream().anyMatch(r -> r.idempotencyKey().endsWith("/c/1")));
  }

  @Test
  void nodesSkippedInTheLastRoundAreSkippedNotCancelled() {
    WorkflowSpec gated = WorkflowParser.parse(String.join("\n",
        "name: gated",
        "nodes:",
        "  - {id: a, type: llm, prompt: 'First'}",
        "  - {id: b, type: llm, prompt: 'Then {{a.output}}', when: \"a.output == 'never'\"}",
        "  - {id: c, type: llm, prompt: 'After {{b.output}}'}"));
    run.<StatusReply<RunEntity.Started>>runCommand(
        replyTo -> new RunEntity.Start(gated, Map.of(), null, "h", replyTo));
    var done = run.runCommand(success("a", "alpha"));
    RunState s = done.state();
    assertEquals(RunStatus.SUCCEEDED, s.status());
    assertEquals(NodeStatus.SKIPPED, s.node("b").status());
    assertEquals(NodeStatus.SKIPPED, s.node("c").status());
    assertTrue(s.node("b").skipReason().startsWith("condition is false"), s.node("b").skipReason());
    assertEquals("depends on skipped node b", s.node("c").skipReason());
    assertInstanceOf(RunEvent.RunCompleted.class, done.events().get(done.events().size() - 1));
  }

  @Test
  void aNodeNamedLikeATimerDoesNotDisarmTheRunDeadline() {
    WorkflowSpec spec = WorkflowParser.parse(String.join("\n",
        "name: named_deadline",
        "policy: {timeout_ms: 300, retry: {max_attempts: 3, backoff_ms: 60000, max_backoff_ms: 60000}}",
        "nodes:",
        "  - {id: deadline, type: llm, prompt: 'Anything'}"));
    run.<StatusReply<RunEntity.Started>>runCommand(
        replyTo -> new RunEntity.Start(spec, Map.of(), null, "h", replyTo));
    var failure = new RunEntity.StepOutcome(null, null, null, null, RunError.of("PROVIDER_UNAVAILABLE", "down"), true);
    run.runCommand(new RunEntity.StepDone("deadline", null, 1, failure));
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertEquals(RunStatus.FAILED, run.getState().status());
      assertEquals("TIMEOUT", run.getState().error().code());
      return null;
    });
  }

  @Test
  void anAnswerWithoutTextFailsTheStepInsteadOfHangingTheRun() {
    LlmPort mute = request -> CompletableFuture.completedFuture(
        new LlmResult(null, new Usage(7, 0, 1), "simulated", "sim-small", List.of("simulated")));
    var settings = new RunSettings(100, Duration.ofMinutes(5), Duration.ofSeconds(5), Duration.ofMillis(200));
    var muteRun = EventSourcedBehaviorTestKit.<RunEntity.Command, RunEvent, RunState>create(kit.system(),
        RunEntity.create("demo|" + RunIds.newRunId(),
            new RunEntity.Setup(mute, Clock.systemUTC(), settings, new WorkflowCache(4)), null));
    WorkflowSpec one = WorkflowParser.parse(
        "name: one\npolicy: {retry: {max_attempts: 1}}\nnodes: [{id: only, type: llm, prompt: 'Say it'}]");
    muteRun.<StatusReply<RunEntity.Started>>runCommand(
        replyTo -> new RunEntity.Start(one, Map.of(), null, "h", replyTo));
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      RunState s = muteRun.getState();
      assertEquals(RunStatus.FAILED, s.status());
      assertEquals("INVALID_OUTPUT", s.error().code());
      assertEquals(new Usage(7, 0, 1), s.usage(), "the failed attempt's tokens are counted");
      return null;
    });
  }

  @Test
  void unknownRunAnswersNotFound() {
    var get = run.<StatusReply<RunView>>runCommand(RunEntity.Get::new);
    assertTrue(get.hasNoEvents());
    assertEquals(ErrorCode.NOT_FOUND, ErrorCode.codeOf(get.reply().getError().getMessage()).orElseThrow());
  }

  private static List<String> scheduled(List<RunEvent> events) {
    return events.stream().filter(e -> e instanceof RunEvent.StepScheduled)
        .map(RunEvent::nodeId).sorted().toList();
  }
}
