package dev.orrery.core.run;

/** One step (a node's call, or one item of a map node) as the Run entity tracks it. */
public enum StepStatus {
  SCHEDULED,
  RETRY_WAIT,
  /** Its call did not fit a budget and the run's policy is {@code pause}: tried again until it fits. */
  BUDGET_WAIT,
  SUCCEEDED,
  FAILED,
  CANCELLED;

  /** A step that holds one of the run's {@code max_parallel} slots. */
  public boolean isActive() {
    return this == SCHEDULED || this == RETRY_WAIT || this == BUDGET_WAIT;
  }
}
