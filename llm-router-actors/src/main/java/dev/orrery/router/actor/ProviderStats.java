package dev.orrery.router.actor;

import java.time.Duration;

/**
 * What the routing policies know of one provider: a moving average of its latency and exponentially
 * decayed counts of its successes and failures. Its provider actor is the only writer; routers on any
 * thread read immutable {@link Snapshot}s.
 */
public final class ProviderStats {
  /** Weight of the newest latency sample in the moving average. */
  static final double LATENCY_ALPHA = 0.2;
  /**
   * Each new outcome multiplies the older counts by this, so they reflect roughly the last
   * 1 / (1 - DECAY) = 20 calls: a provider that failed for a while and recovered is trusted again soon.
   */
  static final double DECAY = 0.95;

  /**
   * @param latencyMillis moving average of attempt latency (successes and timeouts), NaN before any
   * @param successes decayed count of successful attempts
   * @param failures decayed count of failed attempts (the endpoint's fault: not client errors)
   * @param calls attempts made so far
   * @param breakerState the circuit breaker's state as last seen (CLOSED, OPEN, HALF_OPEN, …)
   */
  public record Snapshot(double latencyMillis, double successes, double failures, long calls, String breakerState) {
    public boolean latencyKnown() {
      return !Double.isNaN(latencyMillis);
    }
  }

  private volatile Snapshot snapshot = new Snapshot(Double.NaN, 0, 0, 0, "CLOSED");

  public Snapshot snapshot() {
    return snapshot;
  }

  void recordSuccess(Duration latency) {
    Snapshot s = snapshot;
    snapshot = new Snapshot(average(s.latencyMillis(), latency), s.successes() * DECAY + 1, s.failures() * DECAY,
        s.calls() + 1, s.breakerState());
  }

  /**
   * @param latencyCounts whether the failure's latency says something about the endpoint's speed (a
   *     timeout does; an instant 503 would make a broken endpoint look fast)
   */
  void recordFailure(Duration latency, boolean latencyCounts) {
    Snapshot s = snapshot;
    snapshot = new Snapshot(latencyCounts ? average(s.latencyMillis(), latency) : s.latencyMillis(),
        s.successes() * DECAY, s.failures() * DECAY + 1, s.calls() + 1, s.breakerState());
  }

  void breakerState(String state) {
    Snapshot s = snapshot;
    if (!s.breakerState().equals(state)) {
      snapshot = new Snapshot(s.latencyMillis(), s.successes(), s.failures(), s.calls(), state);
    }
  }

  private static double average(double current, Duration sample) {
    double ms = sample.toNanos() / 1e6;
    return Double.isNaN(current) ? ms : current + LATENCY_ALPHA * (ms - current);
  }
}
