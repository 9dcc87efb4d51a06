package dev.orrery.core.port;

/**
 * A failure a port reports to a step: a code from the edge contract's vocabulary
 * ({@code PROVIDER_UNAVAILABLE}, {@code TIMEOUT}, {@code INVALID_OUTPUT}, {@code BUDGET_EXCEEDED} …) and
 * whether trying again may help.
 */
public final class StepFailure extends RuntimeException {
  private final String code;
  private final boolean retryable;

  public StepFailure(String code, String message, boolean retryable) {
    super(message, null, false, false);
    this.code = code;
    this.retryable = retryable;
  }

  public String code() {
    return code;
  }

  public boolean retryable() {
    return retryable;
  }
}
