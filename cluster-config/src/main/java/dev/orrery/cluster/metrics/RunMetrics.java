package dev.orrery.cluster.metrics;

import dev.orrery.core.run.RunEvent;
import dev.orrery.core.run.RunListener;
import dev.orrery.core.run.RunState;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import kamon.Kamon;

/**
 * Runs and steps as metrics, from what the runs persist: {@code workflow_executions_total{status,tenant}}
 * and {@code workflow_duration_seconds} (a run's acceptance to its end) by the names dashboards expect, and
 * {@code orrery_runs_started_total}, {@code orrery_steps_total{status}}, {@code orrery_run_recoveries_total}
 * (runs that came back from the journal unfinished: their open steps were re-dispatched). Labels are
 * bounded: tenants and statuses, never run ids.
 */
public final class RunMetrics implements RunListener {
  /** Acceptance time of the runs in flight on this node, for their duration. */
  private final Map<String, Instant> accepted = new ConcurrentHashMap<>();

  @Override
  public void onPersisted(String tenantId, String runId, List<RunEvent> events) {
    for (RunEvent e : events) {
      if (e instanceof RunEvent.RunAccepted a) {
        accepted.put(runId, a.at());
        Kamon.counter("orrery.runs.started").withTag("tenant", tenantId).increment();
      } else if (e instanceof RunEvent.StepSucceeded) {
        Kamon.counter("orrery.steps").withTag("status", "succeeded").increment();
      } else if (e instanceof RunEvent.StepFailed) {
        Kamon.counter("orrery.steps").withTag("status", "failed").increment();
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
    accepted.putIfAbsent(runId, state.acceptedAt());
    Kamon.counter("orrery.run.recoveries").withoutTags().increment();
  }

  private void finished(String tenantId, String runId, String status, Instant at) {
    Kamon.counter("workflow.executions").withTag("status", status).withTag("tenant", tenantId).increment();
    Instant start = accepted.remove(runId);
    if (start != null && at != null) {
      Kamon.timer("workflow.duration").withoutTags().record(Math.max(0, Duration.between(start, at).toNanos()));
    }
  }
}
