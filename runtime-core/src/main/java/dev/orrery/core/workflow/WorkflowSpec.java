package dev.orrery.core.workflow;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A workflow as submitted: named, versioned inputs, a policy and a DAG of nodes. This is the value a
 * run records in its first event (a run finishes on the spec it started with), so it serializes with
 * explicit snake_case names under any {@code ObjectMapper}. Defaults are filled in here; checking is
 * {@link CompiledWorkflow#compile}'s job.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record WorkflowSpec(
    @JsonProperty("name") String name,
    @JsonProperty("version") int version,
    @JsonProperty("description") String description,
    @JsonProperty("inputs") Map<String, InputSpec> inputs,
    @JsonProperty("policy") Policy policy,
    @JsonProperty("nodes") List<NodeSpec> nodes) {

  public static final int DEFAULT_VERSION = 1;

  public WorkflowSpec {
    var in = new LinkedHashMap<String, InputSpec>();
    if (inputs != null) {
      // "inputs: {name: }" in YAML declares an input of any type.
      inputs.forEach((k, v) -> in.put(k, v == null ? InputSpec.of(null) : v));
    }
    inputs = Collections.unmodifiableMap(in);
    if (policy == null) policy = Policy.defaults();
    if (nodes == null) {
      nodes = List.of();
    } else {
      int empty = nodes.indexOf(null);
      if (empty >= 0) throw new IllegalArgumentException("nodes[" + empty + "] is empty");
      nodes = Collections.unmodifiableList(new ArrayList<>(nodes));
    }
  }

  /** See {@link RetryPolicy#fromJson}: a missing version is 1, an explicit one is kept. */
  @JsonCreator
  static WorkflowSpec fromJson(
      @JsonProperty("name") String name,
      @JsonProperty("version") Integer version,
      @JsonProperty("description") String description,
      @JsonProperty("inputs") Map<String, InputSpec> inputs,
      @JsonProperty("policy") Policy policy,
      @JsonProperty("nodes") List<NodeSpec> nodes) {
    return new WorkflowSpec(name, version == null ? DEFAULT_VERSION : version, description, inputs, policy, nodes);
  }

  /** The node with this id; the first one if (invalidly) several share it. */
  public Optional<NodeSpec> node(String id) {
    for (NodeSpec n : nodes) {
      if (n.id() != null && n.id().equals(id)) return Optional.of(n);
    }
    return Optional.empty();
  }

  /** The same spec with one node replaced (matched by id). */
  public WorkflowSpec withNode(NodeSpec replacement) {
    var all = new ArrayList<NodeSpec>();
    for (NodeSpec n : nodes) all.add(replacement.id().equals(n.id()) ? replacement : n);
    return new WorkflowSpec(name, version, description, inputs, policy, all);
  }

  /** The same spec with the policy's token budget replaced, as {@code POST /runs} allows. */
  public WorkflowSpec withTokenBudget(long budget) {
    return new WorkflowSpec(name, version, description, inputs, policy.withTokenBudget(budget), nodes);
  }
}
