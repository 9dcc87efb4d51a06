package dev.orrery.core.run;

/** A run's status as the edge contract names it. */
public enum RunStatus {
  PENDING,
  RUNNING,
  AWAITING_APPROVAL,
  AWAITING_BUDGET,
  SUCCEEDED,
  FAILED,
  CANCELLED;

  public boolean isTerminal() {
    return this == SUCCEEDED || this == FAILED || this == CANCELLED;
  }
}
