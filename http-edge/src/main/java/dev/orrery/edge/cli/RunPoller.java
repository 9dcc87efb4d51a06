package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Set;

/**
 * Waits for a run to finish by reading it ({@code GET /runs/{id}}) every {@code interval}, writing a
 * progress line every {@code progressEvery}. A node that is briefly unreachable or failing (a rolling
 * restart) is asked again; a refusal (4xx) ends the wait at once.
 */
final class RunPoller {
  static final Set<String> TERMINAL = Set.of("SUCCEEDED", "FAILED", "CANCELLED");

  /** Failed reads in a row that end the wait. */
  private static final int MAX_FAILURES = 10;

  private final OrreryClient client;
  private final Duration interval;
  private final Duration progressEvery;

  RunPoller(OrreryClient client, Duration interval, Duration progressEvery) {
    this.client = client;
    this.interval = interval;
    this.progressEvery = progressEvery;
  }

  /** The run as last read; {@code finished} unless the deadline passed first. */
  record Outcome(JsonNode run, boolean finished) {}

  /** @param progress where progress lines go (stderr), or null for none */
  Outcome await(String runId, Deadline deadline, PrintWriter progress) {
    long started = System.nanoTime();
    long nextProgress = started + progressEvery.toNanos();
    int failures = 0;
    JsonNode last = null;
    while (true) {
      try {
        JsonNode run = client.run(runId);
        last = run;
        failures = 0;
        if (TERMINAL.contains(run.path("status").asText())) return new Outcome(run, true);
        if (progress != null && System.nanoTime() - nextProgress >= 0) {
          progress.println(RunText.progress(run, Duration.ofNanos(System.nanoTime() - started)));
          progress.flush();
          nextProgress = System.nanoTime() + progressEvery.toNanos();
        }
      } catch (ApiException e) {
        if (e.refused() || ++failures >= MAX_FAILURES) throw e;
      }
      if (deadline.passed()) return new Outcome(last, false);
      Duration pause = deadline.remaining().compareTo(interval) < 0 ? deadline.remaining() : interval;
      try {
        Thread.sleep(Math.max(1, pause.toMillis()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return new Outcome(last, false);
      }
    }
  }
}
