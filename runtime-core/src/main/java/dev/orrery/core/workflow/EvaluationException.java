package dev.orrery.core.workflow;

/**
 * A node's {@code when} or {@code over} could not be evaluated against a run's data (a missing field, a
 * non-bool condition, a non-list {@code over}). Unlike a validation failure this is about one run, so the
 * caller fails that node rather than rejecting the workflow.
 */
public final class EvaluationException extends WorkflowException {
  public static final String CODE = "EVALUATION_ERROR";

  public EvaluationException(String path, String message) {
    super(new Problem(path, CODE, message));
  }

  public Problem problem() {
    return problems().get(0);
  }
}
