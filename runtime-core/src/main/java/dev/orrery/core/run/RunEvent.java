package dev.orrery.core.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;
import dev.orrery.core.trace.RunTrace;
import dev.orrery.core.port.Usage;
import dev.orrery.core.workflow.WorkflowSpec;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Everything a run decided, in the order it decided it. Each event carries the time its command handler
 * read from the clock, so folding the journal (recovery, time travel, replay) never reads a clock.
 * The journal's {@code type} of an event is its simple class name.
 */
public sealed interface RunEvent extends JsonSerializable {

  Instant at();

  /** The node an event is about, or null for run-level events (not a bean getter: never serialized). */
  default String nodeId() {
    return null;
  }

  /**
   * The spec as submitted, the inputs with defaults applied, and what the spec's agents and routes
   * resolved to ({@code pins}): a run finishes on what it started with. {@code fork} is set on a fork: the
   * run it came from and the outputs it reuses.
   *
   * <p>Version 2 (RunFormats): version 1 had no {@code pins}; {@code RunAcceptedMigration} reads it as not
   * pinned. Pins are required here, so an old event can only be read through that migration.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record RunAccepted(
      @JsonProperty("run_id") String runId,
      @JsonProperty("tenant_id") String tenantId,
      @JsonProperty("spec") WorkflowSpec spec,
      @JsonProperty("inputs") Map<String, Object> inputs,
      @JsonProperty("idempotency_key") String idempotencyKey,
      @JsonProperty("request_hash") String requestHash,
      @JsonProperty("fork") ForkOrigin fork,
      @JsonProperty("pins") RunPins pins,
      @JsonProperty("at") Instant at,
      @JsonProperty("trace") RunTrace trace) implements RunEvent {

    public RunAccepted {
      if (pins == null) {
        throw new IllegalArgumentException("RunAccepted of run " + runId + " has no pins: an event written before "
            + "runs were pinned (version 1) is read through RunAcceptedMigration, which records it as not pinned");
      }
    }

    /** A run outside any trace. */
    public RunAccepted(String runId, String tenantId, WorkflowSpec spec, Map<String, Object> inputs,
        String idempotencyKey, String requestHash, ForkOrigin fork, RunPins pins, Instant at) {
      this(runId, tenantId, spec, inputs, idempotencyKey, requestHash, fork, pins, at, null);
    }
  }

  /** A fork took this node's output from the run it was forked from instead of running it. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record NodeReused(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("from_run") String fromRun,
      @JsonProperty("output") Object output,
      @JsonProperty("provider") String provider,
      @JsonProperty("model") String model,
      @JsonProperty("at") Instant at) implements RunEvent {}

  /**
   * An approval node waits for a person: {@code message} is its rendered prompt; at {@code deadline} (if
   * any) {@code default_decision} is taken.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record ApprovalRequested(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("message") String message,
      @JsonProperty("deadline") Instant deadline,
      @JsonProperty("default_decision") String defaultDecision,
      @JsonProperty("at") Instant at) implements RunEvent {}

  /** {@code by}: the key or token subject that decided, or {@code deadline} for the default decision. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record ApprovalGranted(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("by") String by,
      @JsonProperty("comment") String comment,
      @JsonProperty("at") Instant at) implements RunEvent {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  record ApprovalDenied(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("by") String by,
      @JsonProperty("comment") String comment,
      @JsonProperty("at") Instant at) implements RunEvent {

    /** The run error of a denial that fails its node ({@code on_deny: fail}). */
    public static final String CODE = "APPROVAL_DENIED";
  }

  /** The node's {@code when} was false, or a node it depends on was skipped. */
  record NodeSkipped(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("reason") String reason,
      @JsonProperty("at") Instant at) implements RunEvent {}

  /** A map node's list, evaluated once and recorded, so each item's step renders from the same value. */
  record MapExpanded(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("items") List<Object> items,
      @JsonProperty("at") Instant at) implements RunEvent {}

  /** A step handed to its port; {@code item} is the index within a map node, null otherwise. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record StepScheduled(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("item") Integer item,
      @JsonProperty("attempt") int attempt,
      @JsonProperty("at") Instant at) implements RunEvent {}

  /** {@code tried}: the providers the router tried, in order, the last one serving (a fork or replay knows). */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record StepSucceeded(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("item") Integer item,
      @JsonProperty("attempt") int attempt,
      @JsonProperty("output") Object output,
      @JsonProperty("usage") Usage usage,
      @JsonProperty("provider") String provider,
      @JsonProperty("model") String model,
      @JsonProperty("tried") List<String> tried,
      @JsonProperty("at") Instant at) implements RunEvent {}

  /** {@code usage} is what the failed attempt cost (a provider can charge for an answer that fails checks). */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record StepFailed(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("item") Integer item,
      @JsonProperty("attempt") int attempt,
      @JsonProperty("error") RunError error,
      @JsonProperty("retryable") boolean retryable,
      @JsonProperty("usage") Usage usage,
      @JsonProperty("at") Instant at) implements RunEvent {}

  /** The next attempt, after {@code delay_ms} of backoff (jitter included, drawn when decided). */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record StepRetryScheduled(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("item") Integer item,
      @JsonProperty("attempt") int attempt,
      @JsonProperty("delay_ms") long delayMs,
      @JsonProperty("at") Instant at) implements RunEvent {}

  /**
   * A step's call did not fit a budget (the tenant's or the run's own) and the run's policy is
   * {@code pause}: the run waits in {@code AWAITING_BUDGET} and tries the same attempt again until it fits
   * (an admin raised the budget, the period rolled over, or the run's other steps released what they held).
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record BudgetExhausted(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("item") Integer item,
      @JsonProperty("attempt") int attempt,
      @JsonProperty("error") RunError error,
      @JsonProperty("at") Instant at) implements RunEvent {}

  /** A node failed before any step ran (its {@code when} or {@code over} could not be evaluated). */
  record NodeFailed(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("error") RunError error,
      @JsonProperty("at") Instant at) implements RunEvent {}

  record RunCompleted(
      @JsonProperty("outputs") Map<String, Object> outputs,
      @JsonProperty("at") Instant at) implements RunEvent {}

  record RunFailed(
      @JsonProperty("error") RunError error,
      @JsonProperty("at") Instant at) implements RunEvent {

    @Override
    public String nodeId() {
      return error.nodeId();
    }
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  record RunCancelled(
      @JsonProperty("reason") String reason,
      @JsonProperty("at") Instant at) implements RunEvent {}
}
