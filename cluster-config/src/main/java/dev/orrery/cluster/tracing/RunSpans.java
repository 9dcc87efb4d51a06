package dev.orrery.cluster.tracing;

import static dev.orrery.core.trace.SpanAttributes.COST_MICROS;
import static dev.orrery.core.trace.SpanAttributes.ERROR_TYPE;
import static dev.orrery.core.trace.SpanAttributes.PROVIDER;
import static dev.orrery.core.trace.SpanAttributes.RUN;
import static dev.orrery.core.trace.SpanAttributes.STEP;
import static dev.orrery.core.trace.SpanAttributes.TENANT;

import dev.orrery.core.port.Usage;
import dev.orrery.core.run.RunError;
import dev.orrery.core.run.RunEvent;
import dev.orrery.core.run.RunIds;
import dev.orrery.core.run.RunListener;
import dev.orrery.core.run.RunState;
import dev.orrery.core.run.StepState;
import dev.orrery.core.run.StepStatus;
import dev.orrery.core.trace.RunTrace;
import dev.orrery.core.trace.Tracing;
import dev.orrery.core.workflow.NodeSpec;
import dev.orrery.core.workflow.WorkflowSpec;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The spans of runs, made from what they persist: one span per run ({@code run <workflow>}, from its
 * acceptance to its end, a child of the submitting request's span), one per step attempt
 * ({@code step <node>}, from its scheduling to its result), and one per approval wait. Made when they end,
 * with the ids the run recorded ({@link RunTrace}), so the spans of the provider and tool calls that an
 * attempt made meanwhile — on this node or, for an agent, another — are their children, and a run that
 * moved to this node after a crash goes on in the same trace.
 *
 * <p>Only sampled runs are followed; what a crash takes with it (a step that was running on the lost
 * node) is the span of that attempt, which the re-dispatched attempt on this node replaces.
 */
public final class RunSpans implements RunListener {
  static final AttributeKey<String> WORKFLOW = AttributeKey.stringKey("orrery.workflow");
  static final AttributeKey<String> KIND = AttributeKey.stringKey("orrery.node_kind");
  static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("orrery.attempt");
  static final AttributeKey<String> STATUS = AttributeKey.stringKey("orrery.status");
  static final AttributeKey<String> MODEL = AttributeKey.stringKey("orrery.model");
  static final AttributeKey<Long> TOKENS_IN = AttributeKey.longKey("orrery.tokens_in");
  static final AttributeKey<Long> TOKENS_OUT = AttributeKey.longKey("orrery.tokens_out");
  static final AttributeKey<String> DECIDED_BY = AttributeKey.stringKey("orrery.approval.by");
  static final AttributeKey<String> CLUSTER_NODE = AttributeKey.stringKey("orrery.cluster_node");

  /** What this node knows of a sampled run in flight on it. */
  private record Flight(RunTrace trace, Instant accepted, WorkflowSpec spec, Map<String, Instant> started) {
    String kind(String nodeId) {
      return spec == null ? "unknown" : spec.node(nodeId).map(NodeSpec::type).orElse("unknown");
    }
  }

  private final Map<String, Flight> flights = new ConcurrentHashMap<>();
  private final String clusterNode;

  /** @param clusterNode this node's cluster address, on every span it makes */
  public RunSpans(String clusterNode) {
    this.clusterNode = clusterNode;
  }

  @Override
  public void onPersisted(String tenantId, String runId, List<RunEvent> events) {
    for (RunEvent e : events) {
      if (e instanceof RunEvent.RunAccepted a) {
        if (a.trace() != null && a.trace().sampled()) {
          flights.put(runId, new Flight(a.trace(), a.at(), a.spec(), new ConcurrentHashMap<>()));
        }
        continue;
      }
      Flight f = flights.get(runId);
      if (f == null) continue;
      if (e instanceof RunEvent.StepScheduled s) {
        f.started().put(RunIds.stepCall(runId, StepState.key(s.nodeId(), s.item()), s.attempt()), s.at());
      } else if (e instanceof RunEvent.StepSucceeded s) {
        step(f, tenantId, runId, s.nodeId(), s.item(), s.attempt(), s.at(), s.usage(), s.provider(), s.model(), null);
      } else if (e instanceof RunEvent.StepFailed s) {
        step(f, tenantId, runId, s.nodeId(), s.item(), s.attempt(), s.at(), s.usage(), null, null, s.error());
      } else if (e instanceof RunEvent.ApprovalRequested r) {
        f.started().put(approvalKey(r.nodeId()), r.at());
      } else if (e instanceof RunEvent.ApprovalGranted g) {
        approval(f, tenantId, runId, g.nodeId(), true, g.by(), g.at());
      } else if (e instanceof RunEvent.ApprovalDenied d) {
        approval(f, tenantId, runId, d.nodeId(), false, d.by(), d.at());
      } else if (e instanceof RunEvent.RunCompleted c) {
        run(tenantId, runId, "SUCCEEDED", null, c.at());
      } else if (e instanceof RunEvent.RunFailed x) {
        run(tenantId, runId, "FAILED", x.error(), x.at());
      } else if (e instanceof RunEvent.RunCancelled c) {
        run(tenantId, runId, "CANCELLED", null, c.at());
      }
    }
  }

  /** A run that came back here from its journal: its open steps' spans start when they were scheduled. */
  @Override
  public void onRecovered(String tenantId, String runId, RunState state) {
    if (state.isEmpty() || state.isFinished() || state.trace() == null || !state.trace().sampled()) return;
    var started = new ConcurrentHashMap<String, Instant>();
    for (StepState s : state.steps().values()) {
      if (s.status() == StepStatus.SCHEDULED && s.scheduledAt() != null) {
        started.put(RunIds.stepCall(runId, s.key(), s.attempt()), s.scheduledAt());
      }
    }
    state.approvals().values().forEach(a -> started.put(approvalKey(a.nodeId()), a.at()));
    flights.putIfAbsent(runId, new Flight(state.trace(), state.acceptedAt(), state.spec(), started));
  }

  private static String approvalKey(String nodeId) {
    return "approval:" + nodeId;
  }

  private void step(Flight f, String tenantId, String runId, String nodeId, Integer item, int attempt, Instant at,
      Usage usage, String provider, String model, RunError error) {
    String call = RunIds.stepCall(runId, StepState.key(nodeId, item), attempt);
    Instant start = f.started().remove(call);
    SpanBuilder b = Tracing.tracer().spanBuilder("step " + nodeId)
        .setParent(Context.root().with(Span.wrap(f.trace().runSpan())))
        .setStartTimestamp(start != null ? start : at)
        .setAttribute(STEP, StepState.key(nodeId, item))
        .setAttribute(KIND, f.kind(nodeId))
        .setAttribute(ATTEMPT, (long) attempt);
    // The node is the resource's service.instance.id, success an unset status. An llm step's provider,
    // model and tokens are its call's span's; an agent step sums several calls.
    boolean ownCall = NodeSpec.LLM.equals(f.kind(nodeId)) || NodeSpec.MAP.equals(f.kind(nodeId));
    if (provider != null && !ownCall) b.setAttribute(PROVIDER, provider);
    if (model != null && !ownCall) b.setAttribute(MODEL, model);
    if (usage != null && !ownCall) {
      b.setAttribute(TOKENS_IN, usage.tokensIn()).setAttribute(TOKENS_OUT, usage.tokensOut())
          .setAttribute(COST_MICROS, usage.costMicros());
    }
    Span span = RecordedIds.start(b, f.trace().traceId(), f.trace().stepSpanId(call));
    if (error != null) {
      span.setAttribute(ERROR_TYPE, error.code());
      span.setStatus(StatusCode.ERROR, error.message());
    }
    span.end(at);
  }

  private void approval(Flight f, String tenantId, String runId, String nodeId, boolean approved, String by,
      Instant at) {
    Instant start = f.started().remove(approvalKey(nodeId));
    Span span = Tracing.tracer().spanBuilder("approval " + nodeId)
        .setParent(Context.root().with(Span.wrap(f.trace().runSpan())))
        .setStartTimestamp(start != null ? start : at)
        .setAttribute(RUN, runId)
        .setAttribute(TENANT, tenantId)
        .setAttribute(STEP, nodeId)
        .setAttribute(KIND, NodeSpec.APPROVAL)
        .setAttribute(STATUS, approved ? "APPROVED" : "DENIED")
        .setAttribute(DECIDED_BY, by)
        .setAttribute(CLUSTER_NODE, clusterNode)
        .startSpan();
    span.end(at);
  }

  private void run(String tenantId, String runId, String status, RunError error, Instant at) {
    Flight f = flights.remove(runId);
    if (f == null) return;
    RunTrace trace = f.trace();
    SpanBuilder b = Tracing.tracer().spanBuilder("run " + (f.spec() == null ? runId : f.spec().name()))
        .setStartTimestamp(f.accepted() != null ? f.accepted() : at)
        .setAttribute(RUN, runId)
        .setAttribute(TENANT, tenantId)
        .setAttribute(STATUS, status)
        .setAttribute(CLUSTER_NODE, clusterNode);
    if (f.spec() != null) b.setAttribute(WORKFLOW, f.spec().name());
    b.setParent(trace.callerSpan() == null ? Context.root() : Context.root().with(Span.wrap(trace.callerSpan())));
    Span span = RecordedIds.start(b, trace.traceId(), trace.spanId());
    if (error != null) {
      span.setAttribute(ERROR_TYPE, error.code());
      span.setStatus(StatusCode.ERROR, error.message());
    }
    span.end(at);
  }
}
