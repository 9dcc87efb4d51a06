package dev.orrery.core.port;

/**
 * The most one LLM call may use, known before it is made: what a budget reserves. Settling replaces
 * it with the call's actual usage.
 */
public record CallEstimate(long tokens, long costMicros) {
  public CallEstimate {
    if (tokens < 0 || costMicros < 0) {
      throw new IllegalArgumentException("an estimate must not be negative, was " + tokens + "/" + costMicros);
    }
  }
}
