package dev.orrery.core.run;

/**
 * A node's status as the edge contract names it. {@code SCHEDULED} means waiting for a retry's backoff;
 * {@code RUNNING} means a step of the node is out with its port.
 */
public enum NodeStatus {
  PENDING,
  SCHEDULED,
  RUNNING,
  /** An approval node waiting for a person's decision. */
  AWAITING_APPROVAL,
  SUCCEEDED,
  FAILED,
  SKIPPED,
  CANCELLED;

  public boolean isFinished() {
    return this == SUCCEEDED || this == FAILED || this == SKIPPED || this == CANCELLED;
  }
}
