package dev.orrery.core.plan;

import dev.orrery.core.workflow.CompiledWorkflow;
import dev.orrery.core.workflow.EvalContext;
import dev.orrery.core.workflow.EvaluationException;
import dev.orrery.core.workflow.NodeResult;
import dev.orrery.core.workflow.NodeSpec;
import dev.orrery.core.workflow.Problem;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides what a run does next. A pending node is skipped when one of its dependencies was skipped, or
 * when all of them succeeded and its {@code when} is false; it is ready when all of them succeeded and
 * its {@code when} holds. Nodes are visited in topological order, so skips propagate to a fixpoint in a
 * single call. The answer depends on nothing but the arguments.
 */
public final class Planner {
  private Planner() {}

  /**
   * @param ctx the run's inputs and the results of its SUCCEEDED and SKIPPED nodes
   * @param phases each node's phase; a missing node is PENDING
   */
  public static Plan plan(CompiledWorkflow wf, EvalContext ctx, Map<String, NodePhase> phases) {
    var current = new HashMap<String, NodePhase>();
    var skip = new ArrayList<String>();
    var ready = new ArrayList<Plan.Ready>();
    var errors = new ArrayList<Problem>();

    for (String id : wf.topologicalOrder()) {
      NodePhase phase = phases.getOrDefault(id, NodePhase.PENDING);
      current.put(id, phase);
      if (phase != NodePhase.PENDING) continue;

      boolean anySkipped = false;
      boolean allSucceeded = true;
      for (String dep : wf.dependencies(id)) {
        NodePhase p = current.get(dep); // set already: dependencies come first in topological order
        if (p == NodePhase.SKIPPED) anySkipped = true;
        if (p != NodePhase.SUCCEEDED) allSucceeded = false;
      }
      if (anySkipped) {
        skip.add(id);
        current.put(id, NodePhase.SKIPPED);
        continue;
      }
      if (!allSucceeded) continue;

      try {
        if (!wf.evaluateWhen(id, ctx)) {
          skip.add(id);
          current.put(id, NodePhase.SKIPPED);
          continue;
        }
        String kind = wf.kind(id);
        List<Object> items = NodeSpec.MAP.equals(kind) ? wf.evaluateOver(id, ctx) : null;
        ready.add(new Plan.Ready(id, kind, items));
      } catch (EvaluationException e) {
        errors.add(new Problem(id, EvaluationException.CODE, e.problem().message()));
      }
    }

    boolean finished = current.values().stream().allMatch(NodePhase::terminal);
    var outputs = new LinkedHashMap<String, Object>();
    if (finished) {
      for (String id : wf.sinks()) {
        NodeResult result = ctx.nodes().get(id);
        if (current.get(id) == NodePhase.SUCCEEDED && result != null) outputs.put(id, result.output());
      }
    }
    return new Plan(skip, ready, errors, finished, outputs);
  }

  /**
   * Pending nodes that can never run because a dependency FAILED or was CANCELLED (directly or through
   * other such nodes), in topological order: a caller that lets the rest of a run go on after a failure
   * cancels these so that the run can finish.
   */
  public static List<String> blocked(CompiledWorkflow wf, Map<String, NodePhase> phases) {
    var dead = new HashMap<String, Boolean>();
    var blocked = new ArrayList<String>();
    for (String id : wf.topologicalOrder()) {
      NodePhase phase = phases.getOrDefault(id, NodePhase.PENDING);
      boolean isDead = phase == NodePhase.FAILED || phase == NodePhase.CANCELLED;
      if (phase == NodePhase.PENDING) {
        for (String dep : wf.dependencies(id)) {
          if (dead.getOrDefault(dep, false)) {
            isDead = true;
            break;
          }
        }
        if (isDead) blocked.add(id);
      }
      dead.put(id, isDead);
    }
    return blocked;
  }
}
