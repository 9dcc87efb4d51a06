package dev.orrery.core.run;

import dev.orrery.core.workflow.CompiledWorkflow;
import dev.orrery.core.workflow.NodeSpec;
import dev.orrery.core.workflow.WorkflowSpec;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A fork of a recorded run: "what if node N had used another prompt, model or route (or the run other
 * inputs)?" The fork runs N and everything that depends on it, directly or through other nodes; every
 * other node that succeeded in the original gives its recorded output instead of running again, so the
 * fork pays only for what can differ. A node that reads an input the fork changes runs again too.
 *
 * @param spec the original spec with N's overrides applied
 * @param inputs the original inputs with the overridden ones replaced
 * @param origin the original run, N, and the outputs the fork reuses
 * @param pins the original's pins: the fork keeps the agent versions and route definitions of every node
 *     whose agent, route and model it does not change (a model or route override pins afresh)
 */
public record RunFork(WorkflowSpec spec, Map<String, Object> inputs, ForkOrigin origin, RunPins pins) {

  /** What the caller may change: null keeps the original. */
  public record Overrides(Map<String, Object> inputs, String prompt, String model, String route) {}

  /** @throws IllegalArgumentException if the node is not one of the run's, or takes no such override */
  public static RunFork of(RunState original, CompiledWorkflow wf, String nodeId, Overrides overrides) {
    NodeSpec node = original.spec().node(nodeId)
        .orElseThrow(() -> new IllegalArgumentException("run " + original.runId() + " has no node '" + nodeId + "'"));
    NodeSpec changed = changedNode(node, overrides);
    Map<String, Object> inputs = new LinkedHashMap<>(original.inputs());
    Set<String> changedInputs = new HashSet<>();
    if (overrides.inputs() != null) {
      overrides.inputs().forEach((k, v) -> {
        if (!Objects.equals(inputs.get(k), v)) changedInputs.add(k);
        inputs.put(k, v);
      });
    }
    Set<String> rerun = new HashSet<>();
    rerun.add(nodeId);
    for (NodeSpec n : original.spec().nodes()) {
      if (readsAny(n, changedInputs)) rerun.add(n.id());
    }
    rerun = withDependants(wf, rerun);
    Map<String, ForkOrigin.Reused> reused = new LinkedHashMap<>();
    for (NodeSpec n : original.spec().nodes()) {
      NodeState state = original.node(n.id());
      if (!rerun.contains(n.id()) && state.status() == NodeStatus.SUCCEEDED) {
        reused.put(n.id(), new ForkOrigin.Reused(state.output(), state.provider(), state.model()));
      }
    }
    return new RunFork(original.spec().withNode(changed), inputs, new ForkOrigin(original.runId(), nodeId, reused),
        original.pins());
  }

  private static NodeSpec changedNode(NodeSpec node, Overrides o) {
    boolean anyCallOverride = o.model() != null || o.route() != null;
    if (NodeSpec.MAP.equals(node.type())) {
      // A map's prompt, model and route are its per-item node's.
      return new NodeSpec(node.id(), node.type(), node.dependsOn(), node.when(), node.prompt(), node.system(),
          node.route(), node.model(), node.maxTokens(), node.temperature(), node.outputSchema(), node.timeoutMs(),
          node.retry(), node.over(), node.maxParallel(), node.node().withOverrides(o.prompt(), o.model(), o.route()),
          node.defaultDecision(), node.onDeny(), node.tool(), node.arguments(), node.agent(), node.context());
    }
    if (NodeSpec.APPROVAL.equals(node.type()) && anyCallOverride) {
      throw new IllegalArgumentException("an approval node has no model or route to override; only its prompt");
    }
    if (NodeSpec.AGENT.equals(node.type()) && anyCallOverride) {
      throw new IllegalArgumentException("an agent node's model and route are its agent's; fork it with another prompt");
    }
    if (NodeSpec.TOOL.equals(node.type()) && (anyCallOverride || o.prompt() != null)) {
      throw new IllegalArgumentException("a tool node has no prompt, model or route to override; fork it with other inputs");
    }
    return node.withOverrides(o.prompt(), o.model(), o.route());
  }

  /** Whether a node's templates or expressions name one of these inputs. */
  private static boolean readsAny(NodeSpec n, Set<String> inputNames) {
    if (inputNames.isEmpty()) return false;
    StringBuilder text = new StringBuilder();
    for (String part : new String[] {n.prompt(), n.system(), n.when(), n.over()}) {
      if (part != null) text.append(part).append('\n');
    }
    if (n.node() != null) {
      for (String part : new String[] {n.node().prompt(), n.node().system()}) {
        if (part != null) text.append(part).append('\n');
      }
    }
    for (String name : inputNames) {
      if (Pattern.compile("\\binputs\\s*\\.\\s*" + Pattern.quote(name) + "\\b").matcher(text).find()
          || Pattern.compile("\\binputs\\s*\\[\\s*['\"]" + Pattern.quote(name) + "['\"]").matcher(text).find()
          || Pattern.compile("\\{\\{\\s*[#^]?\\s*inputs\\s*\\}\\}").matcher(text).find()) {
        return true;
      }
    }
    return false;
  }

  private static Set<String> withDependants(CompiledWorkflow wf, Set<String> start) {
    Map<String, Set<String>> dependants = new HashMap<>();
    for (String id : wf.nodeIds()) {
      for (String dep : wf.dependencies(id)) dependants.computeIfAbsent(dep, k -> new HashSet<>()).add(id);
    }
    Set<String> all = new HashSet<>(start);
    var todo = new ArrayDeque<>(start);
    while (!todo.isEmpty()) {
      for (String next : dependants.getOrDefault(todo.poll(), Set.of())) {
        if (all.add(next)) todo.add(next);
      }
    }
    return all;
  }
}
