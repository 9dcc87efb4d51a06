package dev.orrery.cluster.metrics;

import dev.orrery.core.run.RunEvent;
import dev.orrery.core.run.RunListener;
import dev.orrery.core.run.RunState;
import dev.orrery.core.run.StepState;
import dev.orrery.core.run.StepStatus;
import dev.orrery.core.workflow.NodeSpec;
import dev.orrery.core.workflow.WorkflowSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import kamon.Kamon;
import kamon.metric.Counter;
import kamon.metric.Timer;

/**
 * Runs and steps as metrics, from what the runs persist: {@code workflow_executions_total{status,tenant}}
 * and {@code workflow_duration_seconds} (a run's acceptance to its end) by the names dashboards expect, and
 * {@code orrery_runs_started_total}, {@code orrery_steps_total{status,kind}},
 * {@code orrery_step_duration_seconds{kind,status}} (an attempt, from its scheduling to its result),
 * {@code orrery_step_attempts_total{kind}} (retries included), {@code orrery_step_redispatches_total{kind}}
 * (steps a recovered run started again), {@code orrery_run_recoveries_total} (runs
 * that came back from the journal unfinished: their open steps were re-dispatched). Labels are bounded:
 * tenants, statuses and node kinds, never run ids. It knows the runs in flight on this node ({@link
 * #inFlight}), which {@link NodeGauges} exports as {@code orrery_runs_in_flight}.
 */
public final class RunMetrics implements RunListener {
  /** What this node knows of each run in flight on it: its start, its nodes' kinds, its steps' starts. */
  private static final class Flight {
    final Instant accepted;
    final Map<String, String> kinds = new ConcurrentHashMap<>();
    final Map<String, Instant> scheduled = new ConcurrentHashMap<>();
    /** When its run last came up on this node ({@link System#nanoTime}): see {@link #keepOnly}. */
    volatile long seen = System.nanoTime();

    Flight(Instant accepted, WorkflowSpec spec) {
      this.accepted = accepted;
      if (spec != null) for (NodeSpec n : spec.nodes()) kinds.put(n.id(), n.type());
    }

    String kind(String nodeId) {
      return kinds.getOrDefault(nodeId, "unknown");
    }
  }

  private final Map<String, Flight> flights = new ConcurrentHashMap<>();
  // Instruments resolved once per label value: recording runs on each run's thread, for every step.
  private final Map<String, Counter> attempts = new ConcurrentHashMap<>();
  private final Map<String, Counter> steps = new ConcurrentHashMap<>();
  private final Map<String, Counter> redispatches = new ConcurrentHashMap<>();
  private final Map<String, Timer> stepDurations = new ConcurrentHashMap<>();

  public RunMetrics() {
    // Exported from the start (at 0), so a dashboard's panel and an alert have a series before the first.
    Kamon.counter("orrery.run.recoveries").withoutTags();
  }

  private static String step(String nodeId, Integer item, int attempt) {
    return nodeId + "/" + item + "/" + attempt;
  }

  @Override
  public void onPersisted(String tenantId, String runId, List<RunEvent> events) {
    for (RunEvent e : events) {
      if (e instanceof RunEvent.RunAccepted a) {
        flights.put(runId, new Flight(a.at(), a.spec()));
        Kamon.counter("orrery.runs.started").withTag("tenant", tenantId).increment();
      } else if (e instanceof RunEvent.StepScheduled s) {
        Flight f = flights.get(runId);
        if (f != null) {
          f.scheduled.put(step(s.nodeId(), s.item(), s.attempt()), s.at());
          attempts.computeIfAbsent(f.kind(s.nodeId()), kind -> Kamon.counter("orrery.step.attempts")
              .withTag("kind", kind)).increment();
        }
      } else if (e instanceof RunEvent.StepSucceeded s) {
        stepEnded(runId, s.nodeId(), s.item(), s.attempt(), "succeeded", s.at());
      } else if (e instanceof RunEvent.StepFailed s) {
        stepEnded(runId, s.nodeId(), s.item(), s.attempt(), "failed", s.at());
      } else if (e instanceof RunEvent.RunCompleted c) {
        finished(tenantId, runId, "succeeded", c.at());
      } else if (e instanceof RunEvent.RunFailed f) {
        finished(tenantId, runId, "failed", f.at());
      } else if (e instanceof RunEvent.RunCancelled c) {
        finished(tenantId, runId, "cancelled", c.at());
      }
    }
  }

  @Override
  public void onRecovered(String tenantId, String runId, RunState state) {
    if (state.isEmpty() || state.isFinished()) return;
    Flight known = flights.putIfAbsent(runId, new Flight(state.acceptedAt(), state.spec()));
    if (known != null) known.seen = System.nanoTime(); // back on this node (it had left without a word)
    Kamon.counter("orrery.run.recoveries").withoutTags().increment();
    // The recovered run starts every step that was out again, with the same idempotency key.
    Flight flight = known != null ? known : flights.get(runId);
    for (StepState s : state.steps().values()) {
      if (s.status() != StepStatus.SCHEDULED) continue;
      String kind = flight.kind(s.nodeId());
      redispatches.computeIfAbsent(kind, k -> Kamon.counter("orrery.step.redispatches").withTag("kind", k)).increment();
    }
  }

  /** How many runs are in flight on this node: accepted or recovered here, not finished. */
  public int inFlight() {
    return flights.size();
  }

  /**
   * Forgets the runs that left this node unfinished (their shard moved to another node, or stopped with
   * it): those not among {@code runIds}, the runs this node's shards held at {@code asOf} ({@link
   * System#nanoTime}), unless they came up here since.
   */
  public void keepOnly(Set<String> runIds, long asOf) {
    flights.entrySet().removeIf(e -> !runIds.contains(e.getKey()) && e.getValue().seen - asOf < 0);
  }

  private void stepEnded(String runId, String nodeId, Integer item, int attempt, String status, Instant at) {
    Flight f = flights.get(runId);
    String kind = f == null ? "unknown" : f.kind(nodeId);
    String labels = kind + "/" + status;
    steps.computeIfAbsent(labels, k -> Kamon.counter("orrery.steps").withTag("status", status).withTag("kind", kind))
        .increment();
    Instant start = f == null ? null : f.scheduled.remove(step(nodeId, item, attempt));
    if (start != null && at != null) {
      stepDurations.computeIfAbsent(labels, k -> Kamon.timer("orrery.step.duration").withTag("kind", kind)
          .withTag("status", status)).record(Math.max(0, Duration.between(start, at).toNanos()));
    }
  }

  private void finished(String tenantId, String runId, String status, Instant at) {
    Kamon.counter("workflow.executions").withTag("status", status).withTag("tenant", tenantId).increment();
    Flight f = flights.remove(runId);
    if (f != null && f.accepted != null && at != null) {
      Kamon.timer("workflow.duration").withoutTags().record(Math.max(0, Duration.between(f.accepted, at).toNanos()));
    }
  }
}
