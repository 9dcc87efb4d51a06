package dev.orrery.core.plan;

/** Where a node of a run stands. A node the run has not touched yet is {@link #PENDING}. */
public enum NodePhase {
  PENDING,
  STARTED,
  SUCCEEDED,
  SKIPPED,
  FAILED,
  CANCELLED;

  /** Whether the node will not change any more. */
  public boolean terminal() {
    return this == SUCCEEDED || this == SKIPPED || this == FAILED || this == CANCELLED;
  }
}
