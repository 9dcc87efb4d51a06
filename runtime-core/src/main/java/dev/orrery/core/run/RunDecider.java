package dev.orrery.core.run;

import dev.orrery.core.ErrorCode;
import dev.orrery.core.plan.NodePhase;
import dev.orrery.core.plan.Plan;
import dev.orrery.core.plan.Planner;
import dev.orrery.core.run.RunEntity.StepOutcome;
import dev.orrery.core.run.RunEvent.ApprovalDenied;
import dev.orrery.core.run.RunEvent.ApprovalGranted;
import dev.orrery.core.run.RunEvent.ApprovalRequested;
import dev.orrery.core.run.RunEvent.BudgetExhausted;
import dev.orrery.core.run.RunEvent.MapExpanded;
import dev.orrery.core.run.RunEvent.NodeFailed;
import dev.orrery.core.run.RunEvent.NodeReused;
import dev.orrery.core.run.RunEvent.NodeSkipped;
import dev.orrery.core.run.RunEvent.RunAccepted;
import dev.orrery.core.run.RunEvent.RunCompleted;
import dev.orrery.core.run.RunEvent.RunFailed;
import dev.orrery.core.run.RunEvent.StepFailed;
import dev.orrery.core.run.RunEvent.StepRetryScheduled;
import dev.orrery.core.run.RunEvent.StepScheduled;
import dev.orrery.core.run.RunEvent.StepSucceeded;
import dev.orrery.core.workflow.CompiledWorkflow;
import dev.orrery.core.workflow.EvalContext;
import dev.orrery.core.workflow.NodeResult;
import dev.orrery.core.workflow.NodeSpec;
import dev.orrery.core.workflow.Policy;
import dev.orrery.core.workflow.Problem;
import dev.orrery.core.workflow.RetryPolicy;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a run decides, as a pure function: given its state, a fact (it started, a step reported, a retry
 * came due, a person decided) and the time, the events to persist. {@link RunEntity} reads the clock and
 * draws the retry jitter and then asks this; {@link RunReplay} asks the same questions of a recorded
 * journal and checks that the answers are the events that were recorded.
 */
public final class RunDecider {

  /** The planner a decider asks; {@link Planner#plan} unless a test wants to see a changed one caught. */
  @FunctionalInterface
  public interface PlanFunction {
    Plan plan(CompiledWorkflow wf, EvalContext ctx, Map<String, NodePhase> phases);
  }

  public static final RunDecider STANDARD = new RunDecider(Planner::plan);
  static final String BUDGET_EXCEEDED = ErrorCode.BUDGET_EXCEEDED.name();

  private final PlanFunction planner;

  public RunDecider(PlanFunction planner) {
    this.planner = planner;
  }

  /** The run's first events: accepted, then whatever is ready at once. */
  List<RunEvent> start(RunState empty, RunAccepted accepted, CompiledWorkflow wf) {
    List<RunEvent> events = new ArrayList<>();
    events.add(accepted);
    events.addAll(progress(empty.apply(accepted), wf, accepted.at()));
    return events;
  }

  /**
   * A step reported. Empty when nothing is to be journaled: a step that waits for budget was refused
   * again (only the first refusal is recorded).
   *
   * @param jitter the retry's random draw in [0, 1), should the step be retried
   */
  List<RunEvent> stepDone(RunState s, CompiledWorkflow wf, RunEntity.StepDone c, Instant now, double jitter) {
    StepState step = s.step(StepState.key(c.nodeId(), c.item()));
    boolean waitingForBudget = step.status() == StepStatus.BUDGET_WAIT;
    StepOutcome o = c.outcome();
    List<RunEvent> events = new ArrayList<>();
    boolean pause = Policy.ON_BUDGET_PAUSE.equals(s.spec().policy().onBudgetExhausted());
    if (!o.succeeded() && pause && BUDGET_EXCEEDED.equals(o.error().code())) {
      if (!waitingForBudget) events.add(new BudgetExhausted(c.nodeId(), c.item(), c.attempt(), o.error(), now));
      return events;
    }
    if (o.succeeded()) {
      var succeeded = new StepSucceeded(c.nodeId(), c.item(), c.attempt(), o.output(), o.usage(), o.provider(),
          o.model(), o.tried(), now);
      events.add(succeeded);
      events.addAll(progress(s.apply(succeeded), wf, now));
      return events;
    }
    events.add(new StepFailed(c.nodeId(), c.item(), c.attempt(), o.error(), o.retryable(), o.usage(), now));
    RetryPolicy retry = retryOf(wf, c.nodeId());
    if (o.retryable() && c.attempt() < retry.maxAttempts()) {
      long delay = retry.backoffBeforeAttempt(c.attempt() + 1, jitter);
      events.add(new StepRetryScheduled(c.nodeId(), c.item(), c.attempt() + 1, delay, now));
    } else {
      String attempts = c.attempt() == 1 ? "1 attempt" : c.attempt() + " attempts";
      events.add(new RunFailed(new RunError(o.error().code(),
          "node " + StepState.key(c.nodeId(), c.item()) + " failed after " + attempts + ": " + o.error().message(),
          c.nodeId()), now));
    }
    return events;
  }

  /** A retry's backoff passed: the step's next attempt. */
  List<RunEvent> retryDue(StepState step, Instant now) {
    return List.of(new StepScheduled(step.nodeId(), step.item(), step.attempt(), now));
  }

  /** A person (or the deadline) decided an approval node that is waiting. */
  List<RunEvent> decide(RunState s, CompiledWorkflow wf, String nodeId, boolean approve, String by, String comment,
      Instant now) {
    List<RunEvent> events = new ArrayList<>();
    RunEvent decision = approve ? new ApprovalGranted(nodeId, by, comment, now)
        : new ApprovalDenied(nodeId, by, comment, now);
    events.add(decision);
    RunState next = s.apply(decision);
    if (next.node(nodeId).status() == NodeStatus.FAILED) {
      events.add(new RunFailed(next.node(nodeId).error(), now));
    } else {
      events.addAll(progress(next, wf, now));
    }
    return events;
  }

  /**
   * The events that follow from a state: nodes to skip, outputs a fork reuses, maps to expand, approvals
   * to ask for, steps to schedule within {@code max_parallel}, and the run's end. Loops because one
   * decision can enable the next (a skip finishes a branch, an empty map succeeds at once).
   */
  List<RunEvent> progress(RunState state, CompiledWorkflow wf, Instant now) {
    List<RunEvent> events = new ArrayList<>();
    RunState s = state;
    while (true) {
      List<RunEvent> round = new ArrayList<>();
      Plan plan = planner.plan(wf, contextOf(s), phasesOf(s));
      if (!plan.errors().isEmpty()) {
        Problem first = plan.errors().get(0);
        String nodeId = nodeOfPath(first.path(), s);
        var error = new RunError(first.code(), first.message(), nodeId);
        events.add(new NodeFailed(nodeId, error, now));
        events.add(new RunFailed(error, now));
        return events;
      }
      // Skips first, each explained by the state that includes the skips before it (a dependant of a
      // node skipped in this same round is skipped "because of" that node).
      for (String skipped : plan.skip()) {
        round.add(new NodeSkipped(skipped, skipReason(wf, applyAll(s, round), skipped), now));
      }
      if (plan.finished()) {
        events.addAll(round);
        events.add(new RunCompleted(plan.outputs(), now));
        return events;
      }
      List<Plan.Ready> toSchedule = new ArrayList<>();
      for (Plan.Ready ready : plan.ready()) {
        ForkOrigin.Reused reused = s.fork() == null ? null : s.fork().reused().get(ready.nodeId());
        if (reused != null) {
          round.add(new NodeReused(ready.nodeId(), s.fork().runId(), reused.output(), reused.provider(),
              reused.model(), now));
        } else if (NodeSpec.MAP.equals(ready.kind())) {
          round.add(new MapExpanded(ready.nodeId(), ready.items(), now));
        } else if (NodeSpec.APPROVAL.equals(ready.kind())) {
          RunEvent asked = approvalRequest(s, wf, ready.nodeId(), now);
          if (asked instanceof NodeFailed failed) {
            events.addAll(round);
            events.add(failed);
            events.add(new RunFailed(failed.error(), now));
            return events;
          }
          round.add(asked);
        } else {
          toSchedule.add(ready);
        }
      }
      RunState afterRound = applyAll(s, round);
      int capacity = s.spec().policy().maxParallel() - afterRound.activeSteps();
      for (Plan.Ready ready : toSchedule) {
        if (capacity <= 0) break;
        round.add(new StepScheduled(ready.nodeId(), null, 1, now));
        capacity--;
      }
      afterRound = applyAll(s, round);
      for (NodeSpec node : s.spec().nodes()) {
        if (capacity <= 0) break;
        NodeState n = afterRound.node(node.id());
        if (n.items() == null || n.status().isFinished()) continue;
        int nodeLimit = node.maxParallel() == null ? Integer.MAX_VALUE : node.maxParallel();
        int nodeFree = nodeLimit - afterRound.activeSteps(node.id());
        for (int i = 0; i < n.items().size() && capacity > 0 && nodeFree > 0; i++) {
          if (afterRound.step(StepState.key(node.id(), i)) == null) {
            round.add(new StepScheduled(node.id(), i, 1, now));
            capacity--;
            nodeFree--;
          }
        }
      }
      if (round.isEmpty()) return events;
      events.addAll(round);
      s = applyAll(s, round);
    }
  }

  /** The approval to ask for, or the node's failure if its message cannot be rendered. */
  private static RunEvent approvalRequest(RunState s, CompiledWorkflow wf, String nodeId, Instant now) {
    NodeSpec node = wf.spec().node(nodeId).orElseThrow();
    String message;
    try {
      message = wf.renderPrompt(nodeId, contextOf(s));
    } catch (RuntimeException e) {
      return new NodeFailed(nodeId, new RunError(ErrorCode.INTERNAL.name(),
          "could not render the approval's prompt: " + e.getMessage(), nodeId), now);
    }
    Instant deadline = node.timeoutMs() == null ? null : now.plusMillis(node.timeoutMs());
    String fallback = deadline == null ? null : node.defaultDecision() != null ? node.defaultDecision() : NodeSpec.DENY;
    return new ApprovalRequested(nodeId, message, deadline, fallback, now);
  }

  static RunState applyAll(RunState s, List<RunEvent> events) {
    RunState next = s;
    for (RunEvent e : events) next = next.apply(e);
    return next;
  }

  private static String skipReason(CompiledWorkflow wf, RunState s, String nodeId) {
    for (String dep : wf.dependencies(nodeId)) {
      if (s.node(dep).status() == NodeStatus.SKIPPED) return "depends on skipped node " + dep;
    }
    return "condition is false: " + wf.spec().node(nodeId).map(NodeSpec::when).orElse("");
  }

  private static String nodeOfPath(String path, RunState s) {
    for (String id : s.nodes().keySet()) {
      if (path.equals(id) || path.contains("[" + id + "]") || path.startsWith(id + ".")) return id;
    }
    return path;
  }

  static EvalContext contextOf(RunState s) {
    Map<String, NodeResult> results = new HashMap<>();
    s.nodes().forEach((id, n) -> {
      if (n.status() == NodeStatus.SUCCEEDED || n.status() == NodeStatus.SKIPPED) {
        results.put(id, new NodeResult(n.status().name(), n.output()));
      }
    });
    return EvalContext.of(s.inputs(), results);
  }

  static Map<String, NodePhase> phasesOf(RunState s) {
    Map<String, NodePhase> phases = new HashMap<>();
    s.nodes().forEach((id, n) -> phases.put(id, phaseOf(n.status())));
    return phases;
  }

  private static NodePhase phaseOf(NodeStatus status) {
    switch (status) {
      case PENDING:
        return NodePhase.PENDING;
      case SCHEDULED:
      case RUNNING:
      case AWAITING_APPROVAL:
        return NodePhase.STARTED;
      case SUCCEEDED:
        return NodePhase.SUCCEEDED;
      case SKIPPED:
        return NodePhase.SKIPPED;
      case FAILED:
        return NodePhase.FAILED;
      default:
        return NodePhase.CANCELLED;
    }
  }

  private static RetryPolicy retryOf(CompiledWorkflow wf, String nodeId) {
    RetryPolicy own = wf.effectiveStep(nodeId).retry();
    return own != null ? own : wf.spec().policy().retry();
  }
}
