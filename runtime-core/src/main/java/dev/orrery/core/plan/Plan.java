package dev.orrery.core.plan;

import dev.orrery.core.workflow.Problem;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The planner's answer for one moment of a run.
 *
 * @param skip nodes to mark SKIPPED now, in topological order
 * @param ready nodes to start, in topological order; never more than the caller may start, which is
 *     the caller's business ({@code max_parallel})
 * @param errors nodes whose {@code when} or {@code over} could not be evaluated; each problem's path is
 *     the node id and its code {@code EVALUATION_ERROR}. The caller fails those nodes.
 * @param finished every node is SUCCEEDED, SKIPPED, FAILED or CANCELLED once {@code skip} is applied
 * @param outputs when finished, the outputs of the sink nodes that SUCCEEDED, by node id in spec order;
 *     empty otherwise
 */
public record Plan(
    List<String> skip,
    List<Ready> ready,
    List<Problem> errors,
    boolean finished,
    Map<String, Object> outputs) {

  public Plan {
    skip = List.copyOf(skip);
    ready = List.copyOf(ready);
    errors = List.copyOf(errors);
    // Outputs may be null (a node that produced JSON null), which Map.copyOf refuses.
    outputs = Collections.unmodifiableMap(new LinkedHashMap<>(outputs));
  }

  /**
   * A node to start now.
   *
   * @param kind the node's type, {@code llm} or {@code map}
   * @param items for a map node, its evaluated {@code over} list in order (unmodifiable); else null
   */
  public record Ready(String nodeId, String kind, List<Object> items) {
    public Ready {
      if (items != null) items = Collections.unmodifiableList(new ArrayList<>(items));
    }
  }
}
