package dev.orrery.core;

/**
 * Whether the modules record metrics at all ({@code orrery.metrics.enabled}): one switch for the JVM, as
 * the metrics registry (Kamon's) is one per JVM. Off, every recording returns at once; the benchmark
 * compares the two to price instrumentation.
 */
public final class Instrumentation {
  private static volatile boolean enabled = true;

  private Instrumentation() {}

  public static boolean enabled() {
    return enabled;
  }

  public static void enable(boolean on) {
    enabled = on;
  }
}
