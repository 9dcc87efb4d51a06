package dev.orrery.edge.cli;

import java.time.Duration;

/** When waiting for a run stops: after a timeout, or never. Measured on the monotonic clock. */
final class Deadline {
  private static final Deadline NONE = new Deadline(Long.MAX_VALUE);

  private final long atNanos;

  private Deadline(long atNanos) {
    this.atNanos = atNanos;
  }

  /** @param timeout null for no deadline */
  static Deadline after(Duration timeout) {
    return timeout == null ? NONE : new Deadline(System.nanoTime() + timeout.toNanos());
  }

  boolean isNone() {
    return this == NONE;
  }

  boolean passed() {
    return !isNone() && System.nanoTime() - atNanos >= 0;
  }

  /** What is left, never negative; a very long duration for no deadline. */
  Duration remaining() {
    if (isNone()) return Duration.ofDays(365);
    return Duration.ofNanos(Math.max(0, atNanos - System.nanoTime()));
  }
}
