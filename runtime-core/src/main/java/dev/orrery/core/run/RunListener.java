package dev.orrery.core.run;

import java.util.List;

/**
 * Told of every batch of run events right after the journal acknowledged it, on the run's own thread:
 * keep it quick and never block. The live stream publishes through it (a later issue); the benchmark
 * counts completions with it.
 *
 * <p>A listener that {@link #wantsDeltas() wants deltas} makes every LLM step a streaming call and is
 * told each piece of text as it arrives ({@link #onDelta}), from the provider's thread. Deltas are
 * ephemeral: only the step's final output is persisted.
 */
@FunctionalInterface
public interface RunListener {
  RunListener NONE = (tenantId, runId, events) -> {};

  void onPersisted(String tenantId, String runId, List<RunEvent> events);

  default boolean wantsDeltas() {
    return false;
  }

  /** A piece of a streaming step's answer, in order; thread-safe and quick, like {@link #onPersisted}. */
  default void onDelta(String tenantId, String runId, String nodeId, Integer item, int attempt, String text) {}
}
