package dev.orrery.core.workflow;

import java.util.List;

/**
 * A workflow (or a run's inputs) cannot be used as given. It carries every problem found, not only the
 * first, so an edge can answer with all of them in one 400.
 */
public class WorkflowException extends RuntimeException {
  private static final int SUMMARISED = 10;

  private final List<Problem> problems;

  public WorkflowException(List<Problem> problems) {
    super(summarise(problems), null, false, false);
    if (problems.isEmpty()) throw new IllegalArgumentException("a WorkflowException needs at least one problem");
    this.problems = List.copyOf(problems);
  }

  public WorkflowException(Problem problem) {
    this(List.of(problem));
  }

  public List<Problem> problems() {
    return problems;
  }

  private static String summarise(List<Problem> problems) {
    if (problems.size() == 1) return problems.get(0).toString();
    var sb = new StringBuilder().append(problems.size()).append(" problems: ");
    for (int i = 0; i < Math.min(SUMMARISED, problems.size()); i++) {
      if (i > 0) sb.append("; ");
      sb.append(problems.get(i));
    }
    if (problems.size() > SUMMARISED) sb.append("; and ").append(problems.size() - SUMMARISED).append(" more");
    return sb.toString();
  }
}
