package dev.orrery.core.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.orrery.core.run.RunEntity.StepDone;
import dev.orrery.core.run.RunEntity.StepOutcome;
import dev.orrery.core.run.RunEvent.ApprovalDenied;
import dev.orrery.core.run.RunEvent.ApprovalGranted;
import dev.orrery.core.run.RunEvent.BudgetExhausted;
import dev.orrery.core.run.RunEvent.RunAccepted;
import dev.orrery.core.run.RunEvent.RunCancelled;
import dev.orrery.core.run.RunEvent.RunFailed;
import dev.orrery.core.run.RunEvent.StepFailed;
import dev.orrery.core.run.RunEvent.StepRetryScheduled;
import dev.orrery.core.run.RunEvent.StepScheduled;
import dev.orrery.core.run.RunEvent.StepSucceeded;
import dev.orrery.core.workflow.CompiledWorkflow;
import dev.orrery.core.workflow.WorkflowException;
import dev.orrery.core.workflow.WorkflowSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Checks that this code still makes the decisions a run's journal records. The journal's facts from
 * outside — the run was submitted, a step answered or failed, a retry came due, a person decided, the run
 * was cancelled or timed out — are given to the {@link RunDecider} in order, and each answer must be the
 * events that follow the fact in the journal. No provider and no tool is called: step results come from
 * the journal. The first event that differs is the divergence.
 *
 * <p>What is not compared: a retry's {@code delay_ms} (its jitter was a random draw).
 */
public final class RunReplay {

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Divergence(
      @JsonProperty("seq") long seq,
      @JsonProperty("reason") String reason,
      @JsonProperty("expected") JsonNode expected,
      @JsonProperty("actual") JsonNode actual) {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Result(
      @JsonProperty("deterministic") boolean deterministic,
      @JsonProperty("events_checked") int eventsChecked,
      @JsonProperty("divergence") Divergence divergence) {}

  private final RunDecider decider;
  private final Function<WorkflowSpec, CompiledWorkflow> compiler;
  private final ObjectMapper json;

  public RunReplay(RunDecider decider, Function<WorkflowSpec, CompiledWorkflow> compiler, ObjectMapper json) {
    this.decider = decider;
    this.compiler = compiler;
    this.json = json;
  }

  public Result check(List<RunEvent> journal) {
    if (journal.isEmpty()) return new Result(true, 0, null);
    RunState s = null;
    CompiledWorkflow wf = null;
    int i = 0;
    while (i < journal.size()) {
      RunEvent fact = journal.get(i);
      long seq = i + 1;
      List<RunEvent> expected;
      try {
        if (fact instanceof RunAccepted accepted) {
          if (s != null) return diverged(i, "the run was accepted twice", null, fact);
          wf = compiler.apply(accepted.spec());
          s = RunState.empty(accepted.tenantId(), accepted.runId());
          expected = decider.start(s, accepted, wf);
        } else if (s == null) {
          return diverged(i, "a journal starts with RunAccepted", null, fact);
        } else {
          expected = decisionsAfter(s, wf, fact);
        }
      } catch (WorkflowException e) {
        return diverged(i, "the run's workflow does not compile with this code: " + e.getMessage(), null, fact);
      } catch (IllegalStateException e) {
        return diverged(i, e.getMessage(), null, fact);
      }
      if (expected == null) {
        return diverged(i, "no decision of the run starts with " + type(fact) + " at this point", null, fact);
      }
      for (int k = 0; k < expected.size(); k++) {
        RunEvent want = expected.get(k);
        if (i + k >= journal.size()) {
          return diverged(i + k, "the journal ends where the run decides " + type(want), want, null);
        }
        RunEvent got = journal.get(i + k);
        if (!comparable(want).equals(comparable(got))) {
          return diverged(i + k, "a different decision at seq " + (seq + k), want, got);
        }
      }
      s = RunDecider.applyAll(s, expected);
      i += expected.size();
    }
    return new Result(true, journal.size(), null);
  }

  /** What the run decides on a fact from outside, or null if the event is not one here. */
  private List<RunEvent> decisionsAfter(RunState s, CompiledWorkflow wf, RunEvent fact) {
    if (fact instanceof StepSucceeded e) {
      var outcome = new StepOutcome(e.output(), e.usage(), e.provider(), e.model(), e.tried(), null, false);
      return reported(s, wf, e.nodeId(), e.item(), e.attempt(), outcome, e);
    }
    if (fact instanceof StepFailed e) {
      var outcome = new StepOutcome(null, e.usage(), null, null, null, e.error(), e.retryable());
      return reported(s, wf, e.nodeId(), e.item(), e.attempt(), outcome, e);
    }
    if (fact instanceof BudgetExhausted e) {
      var outcome = new StepOutcome(null, null, null, null, null, e.error(), false);
      return reported(s, wf, e.nodeId(), e.item(), e.attempt(), outcome, e);
    }
    if (fact instanceof StepScheduled e) {
      StepState step = s.step(StepState.key(e.nodeId(), e.item()));
      if (step == null || step.status() != StepStatus.RETRY_WAIT || step.attempt() != e.attempt()) return null;
      return decider.retryDue(step, e.at());
    }
    if (fact instanceof ApprovalGranted e) {
      if (!s.approvals().containsKey(e.nodeId())) return null;
      return decider.decide(s, wf, e.nodeId(), true, e.by(), e.comment(), e.at());
    }
    if (fact instanceof ApprovalDenied e) {
      if (!s.approvals().containsKey(e.nodeId())) return null;
      return decider.decide(s, wf, e.nodeId(), false, e.by(), e.comment(), e.at());
    }
    // Cancelled over the API, or the run's deadline passed: facts, recorded as they were.
    if (fact instanceof RunCancelled || fact instanceof RunFailed) return s.isFinished() ? null : List.of(fact);
    return null;
  }

  private List<RunEvent> reported(RunState s, CompiledWorkflow wf, String nodeId, Integer item, int attempt,
      StepOutcome outcome, RunEvent fact) {
    StepState step = s.step(StepState.key(nodeId, item));
    if (step == null || step.attempt() != attempt
        || (step.status() != StepStatus.SCHEDULED && step.status() != StepStatus.BUDGET_WAIT)) {
      return null;
    }
    List<RunEvent> decided = decider.stepDone(s, wf, new StepDone(nodeId, item, attempt, outcome), fact.at(), 0.0);
    if (decided.isEmpty()) {
      throw new IllegalStateException("the run would not record " + type(fact) + " for " + step.key() + " again");
    }
    return decided;
  }

  private JsonNode comparable(RunEvent e) {
    ObjectNode tree = json.valueToTree(e);
    tree.put("type", type(e));
    if (e instanceof StepRetryScheduled) tree.remove("delay_ms");
    return tree;
  }

  private Result diverged(int index, String reason, RunEvent expected, RunEvent actual) {
    return new Result(false, index, new Divergence(index + 1, reason,
        expected == null ? null : comparable(expected), actual == null ? null : comparable(actual)));
  }

  private static String type(RunEvent e) {
    return e.getClass().getSimpleName();
  }

  private static final Map<String, Class<? extends RunEvent>> TYPES = new HashMap<>();

  static {
    for (Class<?> c : RunEvent.class.getPermittedSubclasses()) {
      TYPES.put(c.getSimpleName(), c.asSubclass(RunEvent.class));
    }
  }

  /**
   * An event from its journal listing ({@code type}, {@code version} and {@code data}), as {@code GET
   * /journal} shows it, read into this code's class through the same migrations as the stored journal.
   *
   * @param version the listing's {@code version} of the event; null for listings made before events
   *     carried one, which are version 1
   */
  public static RunEvent eventOf(String type, Integer version, JsonNode data, ObjectMapper json) {
    Class<? extends RunEvent> c = TYPES.get(type);
    if (c == null) throw new IllegalArgumentException("unknown run event type '" + type + "'");
    return json.convertValue(RunFormats.upgrade(c, version == null ? 1 : version, data), c);
  }
}
