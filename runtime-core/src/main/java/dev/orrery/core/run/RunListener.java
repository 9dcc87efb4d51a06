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

  /**
   * A run came back from its journal (after a crash, a restart, or to be read): what it recovered to.
   * Lets a listener repair what it may have missed while the run's node was down.
   */
  default void onRecovered(String tenantId, String runId, RunState state) {}

  /** Both listeners, this one first. */
  default RunListener andThen(RunListener next) {
    RunListener first = this;
    return new RunListener() {
      @Override
      public void onPersisted(String tenantId, String runId, List<RunEvent> events) {
        first.onPersisted(tenantId, runId, events);
        next.onPersisted(tenantId, runId, events);
      }

      @Override
      public boolean wantsDeltas() {
        return first.wantsDeltas() || next.wantsDeltas();
      }

      @Override
      public void onDelta(String tenantId, String runId, String nodeId, Integer item, int attempt, String text) {
        first.onDelta(tenantId, runId, nodeId, item, attempt, text);
        next.onDelta(tenantId, runId, nodeId, item, attempt, text);
      }

      @Override
      public void onRecovered(String tenantId, String runId, RunState state) {
        first.onRecovered(tenantId, runId, state);
        next.onRecovered(tenantId, runId, state);
      }
    };
  }
}
