package dev.orrery.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import com.fasterxml.jackson.module.paramnames.ParameterNamesModule;
import dev.orrery.core.plan.Plan;
import dev.orrery.core.plan.Planner;
import dev.orrery.core.workflow.CompiledWorkflow;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Journals recorded by real runs (see docs/replay.md, "Fixture journals") replay deterministically with
 * this code, and a deliberately changed planner is caught at the first event it decides differently.
 * When a change to the run's decisions makes one of these fail, the change would break runs in flight
 * across a rolling upgrade.
 */
class RunReplayTest {
  static final ObjectMapper JSON = new ObjectMapper()
      .registerModule(new JavaTimeModule()).registerModule(new Jdk8Module()).registerModule(new ParameterNamesModule());
  static final List<String> FIXTURES = List.of("map-fan-out-with-skips", "fork-of-map-fan-out", "approval-granted",
      "approval-denied", "retries-on-a-flaky-provider", "cancelled-while-waiting", "deadline-default-then-run-timeout");

  static List<RunEvent> journal(String name) throws IOException {
    try (InputStream in = RunReplayTest.class.getResourceAsStream("/journals/" + name + ".json")) {
      JsonNode listing = JSON.readTree(in);
      List<RunEvent> events = new ArrayList<>();
      long expectedSeq = 1;
      for (JsonNode e : listing.get("events")) {
        assertEquals(expectedSeq++, e.get("seq").asLong(), name + " lists every event in order");
        events.add(RunReplay.eventOf(e.get("type").asText(), e.hasNonNull("version") ? e.get("version").asInt() : null,
            e.get("data"), JSON));
      }
      return events;
    }
  }

  static Stream<String> fixtures() {
    return FIXTURES.stream();
  }

  @ParameterizedTest
  @MethodSource("fixtures")
  void recordedJournalsReplayDeterministically(String name) throws IOException {
    List<RunEvent> events = journal(name);
    RunReplay.Result result = new RunReplay(RunDecider.STANDARD, CompiledWorkflow::compile, JSON).check(events);
    assertTrue(result.deterministic(), () -> name + ": " + result.divergence());
    assertEquals(events.size(), result.eventsChecked());
    RunState end = RunDecider.applyAll(RunState.empty("t", "r"), events);
    assertTrue(end.isFinished(), name + " is a finished run");
  }

  @Test
  void theFixturesCoverEveryKindOfFactARunRecords() throws IOException {
    var types = new java.util.TreeSet<String>();
    for (String name : FIXTURES) journal(name).forEach(e -> types.add(e.getClass().getSimpleName()));
    assertEquals(new java.util.TreeSet<>(List.of("ApprovalDenied", "ApprovalGranted", "ApprovalRequested",
        "MapExpanded", "NodeReused", "NodeSkipped", "RunAccepted", "RunCancelled", "RunCompleted", "RunFailed",
        "StepFailed", "StepRetryScheduled", "StepScheduled", "StepSucceeded")), types);
  }

  @Test
  void aPlannerThatNoLongerSkipsIsCaughtAtTheFirstSkip() throws IOException {
    List<RunEvent> events = journal("map-fan-out-with-skips");
    RunDecider changed = new RunDecider((wf, ctx, phases) -> {
      Plan plan = Planner.plan(wf, ctx, phases);
      // "Forgets" conditions: what should be skipped becomes ready.
      List<Plan.Ready> ready = new ArrayList<>(plan.ready());
      for (String id : plan.skip()) ready.add(new Plan.Ready(id, wf.kind(id), null));
      return new Plan(List.of(), ready, plan.errors(), plan.finished(), plan.outputs());
    });
    RunReplay.Result result = new RunReplay(changed, CompiledWorkflow::compile, JSON).check(events);
    assertFalse(result.deterministic());
    int firstSkip = 0;
    while (!(events.get(firstSkip) instanceof RunEvent.NodeSkipped)) firstSkip++;
    assertEquals(firstSkip + 1, result.divergence().seq(), result.divergence().toString());
    assertEquals("NodeSkipped", result.divergence().actual().get("type").asText());
    assertNotEquals("NodeSkipped", result.divergence().expected().get("type").asText());
  }

  @Test
  void aChangedRetryPolicyIsCaughtWhereTheRunWouldHaveGivenUp() throws IOException {
    List<RunEvent> events = journal("retries-on-a-flaky-provider");
    // This code would fail a node after its first failed attempt instead of retrying.
    var accepted = (RunEvent.RunAccepted) events.get(0);
    var spec = accepted.spec();
    var oneAttempt = new dev.orrery.core.workflow.WorkflowSpec(spec.name(), spec.version(), spec.description(),
        spec.inputs(), new dev.orrery.core.workflow.Policy(spec.policy().maxParallel(), spec.policy().tokenBudget(),
            spec.policy().onBudgetExhausted(), spec.policy().timeoutMs(), spec.policy().stepTimeoutMs(),
            new dev.orrery.core.workflow.RetryPolicy(1, 10, 100, 2.0)), spec.nodes());
    RunReplay.Result result = new RunReplay(RunDecider.STANDARD, s -> CompiledWorkflow.compile(oneAttempt), JSON).check(events);
    assertFalse(result.deterministic());
    int firstFailure = 0;
    while (!(events.get(firstFailure) instanceof RunEvent.StepFailed)) firstFailure++;
    assertEquals(firstFailure + 2, result.divergence().seq(), "right after the failed attempt: " + result.divergence());
    assertEquals("RunFailed", result.divergence().expected().get("type").asText());
    assertEquals("StepRetryScheduled", result.divergence().actual().get("type").asText());
  }

  @Test
  void anEventThatNoDecisionStartsWithIsADivergence() throws IOException {
    List<RunEvent> events = new ArrayList<>(journal("approval-granted"));
    RunEvent stray = new RunEvent.NodeSkipped("publish", "made up", events.get(1).at());
    events.add(1, stray);
    RunReplay.Result result = new RunReplay(RunDecider.STANDARD, CompiledWorkflow::compile, JSON).check(events);
    assertFalse(result.deterministic());
    assertEquals(2, result.divergence().seq());
    assertEquals("NodeSkipped", result.divergence().actual().get("type").asText());
  }
}
