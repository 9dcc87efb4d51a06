package dev.orrery.core.run;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;
import dev.orrery.core.trace.RunTrace;
import dev.orrery.core.port.Usage;
import dev.orrery.core.run.RunEvent.ApprovalDenied;
import dev.orrery.core.run.RunEvent.ApprovalGranted;
import dev.orrery.core.run.RunEvent.ApprovalRequested;
import dev.orrery.core.run.RunEvent.BudgetExhausted;
import dev.orrery.core.run.RunEvent.MapExpanded;
import dev.orrery.core.run.RunEvent.NodeFailed;
import dev.orrery.core.run.RunEvent.NodeReused;
import dev.orrery.core.run.RunEvent.NodeSkipped;
import dev.orrery.core.run.RunEvent.RunAccepted;
import dev.orrery.core.run.RunEvent.RunCancelled;
import dev.orrery.core.run.RunEvent.RunCompleted;
import dev.orrery.core.run.RunEvent.RunFailed;
import dev.orrery.core.run.RunEvent.StepFailed;
import dev.orrery.core.run.RunEvent.StepRetryScheduled;
import dev.orrery.core.run.RunEvent.StepScheduled;
import dev.orrery.core.run.RunEvent.StepSucceeded;
import dev.orrery.core.workflow.NodeSpec;
import dev.orrery.core.workflow.WorkflowSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A run folded from its events. Immutable: each {@code apply} returns a new state, and applying never
 * reads a clock or draws a random number, so the same events always fold to the same state.
 *
 * <p>{@code status} is null before {@link RunAccepted}: the entity exists but no run was started.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RunState(
    @JsonProperty("run_id") String runId,
    @JsonProperty("tenant_id") String tenantId,
    @JsonProperty("status") RunStatus status,
    @JsonProperty("spec") WorkflowSpec spec,
    @JsonProperty("inputs") Map<String, Object> inputs,
    @JsonProperty("idempotency_key") String idempotencyKey,
    @JsonProperty("request_hash") String requestHash,
    @JsonProperty("accepted_at") Instant acceptedAt,
    @JsonProperty("finished_at") Instant finishedAt,
    @JsonProperty("nodes") Map<String, NodeState> nodes,
    @JsonProperty("steps") Map<String, StepState> steps,
    @JsonProperty("outputs") Map<String, Object> outputs,
    @JsonProperty("error") RunError error,
    @JsonProperty("usage") Usage usage,
    @JsonProperty("fork") ForkOrigin fork,
    @JsonProperty("approvals") Map<String, ApprovalRequested> approvals,
    @JsonProperty("pins") RunPins pins,
    @JsonProperty("trace") RunTrace trace) implements JsonSerializable {

  /**
   * Version 2 (RunFormats) added {@code pins}; a version-1 snapshot is read through
   * {@code RunStateMigration}. A state that arrives without pins in a message (where Pekko migrates only
   * the message's own class) is taken as not pinned.
   */
  public RunState {
    if (approvals == null) approvals = Map.of();
    if (pins == null) pins = RunPins.NOT_RECORDED;
  }

  public static RunState empty(String tenantId, String runId) {
    return new RunState(runId, tenantId, null, null, Map.of(), null, null, null, null, Map.of(), Map.of(), null, null,
        Usage.ZERO, null, Map.of(), RunPins.NOT_RECORDED, null);
  }

  @JsonIgnore
  public boolean isEmpty() {
    return status == null;
  }

  @JsonIgnore
  public boolean isFinished() {
    return status != null && status.isTerminal();
  }

  public NodeState node(String nodeId) {
    return nodes.getOrDefault(nodeId, NodeState.PENDING);
  }

  public StepState step(String stepKey) {
    return steps.get(stepKey);
  }

  /** Steps holding one of the run's {@code max_parallel} slots (running, or waiting for a retry). */
  public int activeSteps() {
    int n = 0;
    for (StepState s : steps.values()) {
      if (s.status().isActive()) n++;
    }
    return n;
  }

  public int activeSteps(String nodeId) {
    int n = 0;
    for (StepState s : steps.values()) {
      if (s.nodeId().equals(nodeId) && s.status().isActive()) n++;
    }
    return n;
  }

  public List<StepState> stepsOf(String nodeId) {
    var out = new ArrayList<StepState>();
    for (StepState s : steps.values()) {
      if (s.nodeId().equals(nodeId)) out.add(s);
    }
    return out;
  }

  // ---- applying events: no side effects, no clock -------------------------------------------------

  public RunState apply(RunEvent event) {
    RunState next = applied(event);
    if (next.status == null || next.status.isTerminal()) return next;
    // A running run waits while some step waits for budget, or some node for a person's decision.
    RunStatus waiting = next.anyStepIn(StepStatus.BUDGET_WAIT) ? RunStatus.AWAITING_BUDGET
        : !next.approvals.isEmpty() ? RunStatus.AWAITING_APPROVAL : RunStatus.RUNNING;
    return waiting == next.status ? next : next.withStatus(waiting);
  }

  private RunState applied(RunEvent event) {
    if (event instanceof RunAccepted e) return accepted(e);
    if (event instanceof BudgetExhausted e) {
      String key = StepState.key(e.nodeId(), e.item());
      return withStep(steps.get(key).awaitingBudget(e.error())).withStatus(RunStatus.AWAITING_BUDGET);
    }
    if (event instanceof NodeSkipped e) return withNode(e.nodeId(), n -> n.skipped(e.reason(), e.at()));
    if (event instanceof NodeReused e) {
      return withNode(e.nodeId(), n -> n.reused(e.output(), e.provider(), e.model(), e.at()));
    }
    if (event instanceof ApprovalRequested e) {
      var pending = new LinkedHashMap<>(approvals);
      pending.put(e.nodeId(), e);
      return withApprovals(pending).withNode(e.nodeId(), n -> n.awaitingApproval(e.at()));
    }
    if (event instanceof ApprovalGranted e) return decided(e.nodeId(), true, e.by(), e.comment(), e.at());
    if (event instanceof ApprovalDenied e) return decided(e.nodeId(), false, e.by(), e.comment(), e.at());
    if (event instanceof MapExpanded e) return mapExpanded(e);
    if (event instanceof StepScheduled e) return stepScheduled(e);
    if (event instanceof StepSucceeded e) return stepSucceeded(e);
    if (event instanceof StepFailed e) return stepFailed(e);
    if (event instanceof StepRetryScheduled e) return retryScheduled(e);
    if (event instanceof NodeFailed e) return withNode(e.nodeId(), n -> n.failedWith(e.error()).finished(NodeStatus.FAILED, e.at()));
    if (event instanceof RunCompleted e) return finish(RunStatus.SUCCEEDED, e.outputs(), null, e.at());
    if (event instanceof RunFailed e) return finish(RunStatus.FAILED, null, e.error(), e.at());
    if (event instanceof RunCancelled e) return finish(RunStatus.CANCELLED, null, null, e.at());
    throw new IllegalArgumentException("unknown run event " + event.getClass().getName());
  }

  /** What an approval node outputs: the decision, who made it and why; a denial that fails has none. */
  public static Map<String, Object> decision(boolean approved, String by, String comment) {
    var out = new LinkedHashMap<String, Object>();
    out.put("approved", approved);
    out.put("by", by);
    if (comment != null) out.put("comment", comment);
    return Collections.unmodifiableMap(out);
  }

  private RunState decided(String nodeId, boolean approved, String by, String comment, Instant at) {
    var pending = new LinkedHashMap<>(approvals);
    pending.remove(nodeId);
    RunState next = withApprovals(pending);
    boolean continues = approved || spec.node(nodeId).map(n -> NodeSpec.ON_DENY_CONTINUE.equals(n.onDeny())).orElse(false);
    if (continues) return next.withNode(nodeId, n -> n.succeeded(decision(approved, by, comment), at));
    RunError denied = new RunError(ApprovalDenied.CODE,
        "denied by " + by + (comment == null ? "" : ": " + comment), nodeId);
    return next.withNode(nodeId, n -> n.failedWith(denied).finished(NodeStatus.FAILED, at));
  }

  private RunState accepted(RunAccepted e) {
    var all = new LinkedHashMap<String, NodeState>();
    for (NodeSpec n : e.spec().nodes()) all.put(n.id(), NodeState.PENDING);
    return new RunState(e.runId(), e.tenantId(), RunStatus.RUNNING, e.spec(), e.inputs(), e.idempotencyKey(),
        e.requestHash(), e.at(), null, Collections.unmodifiableMap(all), Map.of(), null, null, Usage.ZERO, e.fork(),
        Map.of(), e.pins(), e.trace());
  }

  private RunState mapExpanded(MapExpanded e) {
    RunState next = withNode(e.nodeId(), n -> n.expanded(e.items(), e.at()));
    if (e.items().isEmpty()) {
      return next.withNode(e.nodeId(), n -> n.succeeded(List.of(), e.at()));
    }
    return next;
  }

  private RunState stepScheduled(StepScheduled e) {
    String key = StepState.key(e.nodeId(), e.item());
    StepState previous = steps.get(key);
    StepState step = previous == null
        ? StepState.scheduled(e.nodeId(), e.item(), e.attempt(), e.at())
        : previous.rescheduled(e.attempt(), e.at());
    return withStep(step).withNode(e.nodeId(), n -> n.stepScheduled(e.attempt(), e.at()));
  }

  private RunState stepSucceeded(StepSucceeded e) {
    String key = StepState.key(e.nodeId(), e.item());
    StepState step = steps.get(key).succeeded(e.output(), e.usage(), e.provider(), e.model(), e.at());
    RunState next = withStep(step)
        .withNode(e.nodeId(), n -> n.charged(e.usage(), e.provider(), e.model()))
        .withUsage(usage.plus(e.usage()));
    NodeState node = next.node(e.nodeId());
    if (e.item() == null) {
      return next.withNode(e.nodeId(), n -> n.succeeded(e.output(), e.at()));
    }
    // A map node succeeds when its last item does; outputs are collected in input order.
    Object[] byIndex = new Object[node.items().size()];
    int done = 0;
    for (StepState s : next.stepsOf(e.nodeId())) {
      if (s.status() == StepStatus.SUCCEEDED) {
        byIndex[s.item()] = s.output();
        done++;
      }
    }
    if (done < byIndex.length) return next;
    List<Object> collected = Collections.unmodifiableList(new ArrayList<>(java.util.Arrays.asList(byIndex)));
    return next.withNode(e.nodeId(), n -> n.succeeded(collected, e.at()));
  }

  private RunState stepFailed(StepFailed e) {
    String key = StepState.key(e.nodeId(), e.item());
    RunState next = withStep(steps.get(key).failed(e.error(), e.at()))
        .withNode(e.nodeId(), n -> n.failedWith(e.error()));
    if (e.usage() == null) return next;
    return next.withNode(e.nodeId(), n -> n.charged(e.usage(), n.provider(), n.model()))
        .withUsage(usage.plus(e.usage()));
  }

  private RunState retryScheduled(StepRetryScheduled e) {
    String key = StepState.key(e.nodeId(), e.item());
    RunState next = withStep(steps.get(key).awaitingRetry(e.attempt(), e.at().plusMillis(e.delayMs())));
    if (next.activeStepsRunning(e.nodeId())) return next;
    return next.withNode(e.nodeId(), n -> n.withStatus(NodeStatus.SCHEDULED));
  }

  private boolean anyStepIn(StepStatus wanted) {
    for (StepState s : steps.values()) {
      if (s.status() == wanted) return true;
    }
    return false;
  }

  private RunState withStatus(RunStatus next) {
    return new RunState(runId, tenantId, next, spec, inputs, idempotencyKey, requestHash, acceptedAt, finishedAt,
        nodes, steps, outputs, error, usage, fork, approvals, pins, trace);
  }

  private RunState withApprovals(Map<String, ApprovalRequested> pending) {
    return new RunState(runId, tenantId, status, spec, inputs, idempotencyKey, requestHash, acceptedAt, finishedAt,
        nodes, steps, outputs, error, usage, fork, Collections.unmodifiableMap(pending), pins, trace);
  }

  private boolean activeStepsRunning(String nodeId) {
    for (StepState s : steps.values()) {
      if (s.nodeId().equals(nodeId) && s.status() == StepStatus.SCHEDULED) return true;
    }
    return false;
  }

  private RunState finish(RunStatus terminal, Map<String, Object> outs, RunError why, Instant at) {
    var allSteps = new LinkedHashMap<String, StepState>();
    for (var s : steps.entrySet()) {
      allSteps.put(s.getKey(), s.getValue().status().isActive() ? s.getValue().cancelled(at) : s.getValue());
    }
    var allNodes = new LinkedHashMap<String, NodeState>();
    for (var n : nodes.entrySet()) {
      NodeState node = n.getValue();
      if (!node.status().isFinished()) {
        boolean failedHere = why != null && n.getKey().equals(why.nodeId());
        node = node.finished(failedHere ? NodeStatus.FAILED : NodeStatus.CANCELLED, at);
      }
      allNodes.put(n.getKey(), node);
    }
    return new RunState(runId, tenantId, terminal, spec, inputs, idempotencyKey, requestHash, acceptedAt, at,
        Collections.unmodifiableMap(allNodes), Collections.unmodifiableMap(allSteps), outs, why, usage, fork, Map.of(),
        pins, trace);
  }

  private RunState withNode(String nodeId, UnaryOperator<NodeState> change) {
    var all = new LinkedHashMap<>(nodes);
    all.put(nodeId, change.apply(node(nodeId)));
    return new RunState(runId, tenantId, status, spec, inputs, idempotencyKey, requestHash, acceptedAt, finishedAt,
        Collections.unmodifiableMap(all), steps, outputs, error, usage, fork, approvals, pins, trace);
  }

  private RunState withStep(StepState step) {
    var all = new LinkedHashMap<>(steps);
    all.put(step.key(), step);
    return new RunState(runId, tenantId, status, spec, inputs, idempotencyKey, requestHash, acceptedAt, finishedAt,
        nodes, Collections.unmodifiableMap(all), outputs, error, usage, fork, approvals, pins, trace);
  }

  private RunState withUsage(Usage total) {
    return new RunState(runId, tenantId, status, spec, inputs, idempotencyKey, requestHash, acceptedAt, finishedAt,
        nodes, steps, outputs, error, total, fork, approvals, pins, trace);
  }
}
