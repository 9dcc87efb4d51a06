package dev.orrery.core.port;

/**
 * Receives the text of a streaming call as it arrives, in order. Deltas are ephemeral (the live view of
 * a run); only the final text is persisted. Called from the adapter's thread: never block.
 */
@FunctionalInterface
public interface DeltaSink {
  void onDelta(String text);
}
