package dev.orrery.core.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.samskivert.mustache.MustacheException;
import com.samskivert.mustache.Template;
import dev.cel.runtime.CelEvaluationException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A workflow that passed validation, with its templates, conditions and schemas compiled and its graph
 * worked out. Compile once per run (callers cache it); an instance is immutable and safe to share
 * between threads.
 *
 * <p><b>Dependencies.</b> A node depends on what it names in {@code depends_on} and, implicitly, on every
 * node its templates, {@code when} or {@code over} refer to: {@code {{summarize.output}}} in a prompt
 * makes {@code summarize} a dependency, because the prompt cannot be rendered before it has finished.
 */
public final class CompiledWorkflow {
  /** The most items a map node may fan out to; each item is a step with its own events. */
  public static final int MAX_MAP_ITEMS = 10_000;

  /** Everything compiled about one node. */
  record CompiledNode(
      NodeSpec spec,
      NodeSpec step,
      Template prompt,
      Template system,
      Expressions.Compiled when,
      Expressions.Compiled over,
      JsonSchema outputSchema,
      Map<String, Template> arguments,
      Set<String> dependencies) {}

  private final WorkflowSpec spec;
  private final Map<String, CompiledNode> nodes;
  private final List<String> topologicalOrder;
  private final Set<String> sinks;

  CompiledWorkflow(WorkflowSpec spec, Map<String, CompiledNode> nodes, List<String> topologicalOrder) {
    this.spec = spec;
    this.nodes = Collections.unmodifiableMap(new LinkedHashMap<>(nodes));
    this.topologicalOrder = topologicalOrder;
    var depended = new LinkedHashSet<String>();
    nodes.values().forEach(n -> depended.addAll(n.dependencies()));
    var s = new LinkedHashSet<String>();
    for (String id : nodes.keySet()) {
      if (!depended.contains(id)) s.add(id);
    }
    this.sinks = Collections.unmodifiableSet(s);
  }

  /**
   * Validates a workflow and compiles it.
   *
   * @throws WorkflowException with every problem found, each located by its path
   */
  public static CompiledWorkflow compile(WorkflowSpec spec) {
    return WorkflowCompiler.compile(spec);
  }

  public WorkflowSpec spec() {
    return spec;
  }

  /** Node ids in spec order. */
  public Set<String> nodeIds() {
    return nodes.keySet();
  }

  /** Every node after all of its dependencies; among independent nodes, spec order. */
  public List<String> topologicalOrder() {
    return topologicalOrder;
  }

  /** The effective dependencies: {@code depends_on} plus the nodes its templates and expressions read. */
  public Set<String> dependencies(String nodeId) {
    return compiled(nodeId).dependencies();
  }

  /** Nodes no other node depends on; their outputs are the run's outputs. */
  public Set<String> sinks() {
    return sinks;
  }

  /** The node as written. */
  public NodeSpec node(String nodeId) {
    return compiled(nodeId).spec();
  }

  /** {@code llm} or {@code map}. */
  public String kind(String nodeId) {
    return node(nodeId).type();
  }

  /**
   * The node that actually runs per step: the node itself for {@code llm}; for {@code map} its per-item
   * node, carrying the map's id and the map's timeout and retry where the per-item node sets none.
   */
  public NodeSpec effectiveStep(String nodeId) {
    return compiled(nodeId).step();
  }

  /** A step's deadline: the node's {@code timeout_ms}, else the policy's {@code step_timeout_ms}. */
  public long stepTimeoutMs(String nodeId) {
    Long own = effectiveStep(nodeId).timeoutMs();
    return own != null ? own : spec.policy().stepTimeoutMs();
  }

  /** A step's retries: the node's {@code retry}, else the policy's. */
  public RetryPolicy retryPolicy(String nodeId) {
    RetryPolicy own = effectiveStep(nodeId).retry();
    return own != null ? own : spec.policy().retry();
  }

  /** How many items of a map node may run at once: its {@code max_parallel}, else the policy's. */
  public int maxParallel(String nodeId) {
    Integer own = node(nodeId).maxParallel();
    return own != null ? own : spec.policy().maxParallel();
  }

  // ---- inputs -------------------------------------------------------------------------------------

  /**
   * Checks a run's inputs: every required input present, every value of its declared JSON type, no
   * undeclared input. Values may be plain Java values or Jackson trees.
   *
   * @return the problems, with paths {@code inputs.<name>}; empty when the inputs are fine
   */
  public List<Problem> validateInputs(Map<String, ?> inputs) {
    Map<String, Object> given = JsonValues.freezeMap(inputs);
    var problems = new ArrayList<Problem>();
    spec.inputs().forEach((name, input) -> {
      Object value = given.get(name);
      if (value == null) {
        if (input.required() && input.defaultValue() == null) {
          problems.add(new Problem("inputs." + name, "MISSING_INPUT", "input '" + name + "' is required"
              + (input.type().equals(InputSpec.ANY) ? "" : " (" + input.type() + ")")));
        }
      } else if (!InputTypes.matches(input.type(), value)) {
        problems.add(new Problem("inputs." + name, "INVALID_INPUT",
            "input '" + name + "' must be of type " + input.type() + ", was " + InputTypes.describe(value)));
      }
    });
    for (String name : given.keySet()) {
      if (!spec.inputs().containsKey(name)) {
        problems.add(new Problem("inputs." + name, "INVALID_INPUT", "unknown input '" + name + "'; "
            + (spec.inputs().isEmpty() ? "this workflow declares no inputs" : "declared inputs: " + String.join(", ", spec.inputs().keySet()))));
      }
    }
    return problems;
  }

  /**
   * The inputs a run evaluates against: those given, then the defaults of those not given; a declared
   * optional input with no default is present as null, so a condition can test it with {@code == null}.
   */
  public Map<String, Object> withDefaults(Map<String, ?> inputs) {
    Map<String, Object> given = JsonValues.freezeMap(inputs);
    var result = new LinkedHashMap<String, Object>();
    spec.inputs().forEach((name, input) -> {
      Object value = given.get(name);
      result.put(name, value != null ? value : input.defaultValue());
    });
    given.forEach(result::putIfAbsent);
    return Collections.unmodifiableMap(result);
  }

  // ---- templates and expressions --------------------------------------------------------------------

  /** The node's prompt rendered against {@code ctx}; for a map node, its per-item node's prompt. */
  public String renderPrompt(String nodeId, EvalContext ctx) {
    return render(nodeId, "prompt", compiled(nodeId).prompt(), ctx);
  }

  /** The node's system prompt rendered against {@code ctx}, or null when it has none. */
  public String renderSystem(String nodeId, EvalContext ctx) {
    Template system = compiled(nodeId).system();
    return system == null ? null : render(nodeId, "system", system, ctx);
  }

  /**
   * A tool node's {@code arguments} (an agent node's {@code context}) with every string rendered against
   * {@code ctx}; an empty object when it has none.
   */
  public JsonNode renderArguments(String nodeId, EvalContext ctx) {
    CompiledNode node = compiled(nodeId);
    JsonNode given = NodeSpec.AGENT.equals(node.spec().type()) ? node.spec().context() : node.spec().arguments();
    com.fasterxml.jackson.databind.node.ObjectNode out = given == null
        ? com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode()
        : (com.fasterxml.jackson.databind.node.ObjectNode) given.deepCopy();
    node.arguments().forEach((pointer, template) -> {
      String field = NodeSpec.AGENT.equals(node.spec().type()) ? "context" : "arguments";
      String text = render(nodeId, field + pointer.replace('/', '.'), template, ctx);
      com.fasterxml.jackson.core.JsonPointer at = com.fasterxml.jackson.core.JsonPointer.compile(pointer);
      JsonNode parent = out.at(at.head());
      var leaf = com.fasterxml.jackson.databind.node.TextNode.valueOf(text);
      if (parent instanceof com.fasterxml.jackson.databind.node.ObjectNode o) o.set(at.last().getMatchingProperty(), leaf);
      else if (parent instanceof com.fasterxml.jackson.databind.node.ArrayNode a) a.set(at.last().getMatchingIndex(), leaf);
    });
    return out;
  }

  private String render(String nodeId, String field, Template template, EvalContext ctx) {
    try {
      return Templates.render(template, ctx);
    } catch (MustacheException e) {
      String where = NodeSpec.MAP.equals(kind(nodeId)) ? "node." + field : field;
      throw new EvaluationException(path(nodeId, where), field + " of node '" + nodeId + "' could not be rendered: " + e.getMessage());
    }
  }

  /**
   * Whether the node's {@code when} holds; true when it has none.
   *
   * @throws EvaluationException when it cannot be evaluated or does not give true or false
   */
  public boolean evaluateWhen(String nodeId, EvalContext ctx) {
    Expressions.Compiled when = compiled(nodeId).when();
    if (when == null) return true;
    Object value = evaluate(nodeId, "when", when, ctx);
    if (!(value instanceof Boolean)) {
      throw new EvaluationException(path(nodeId, "when"), "when of node '" + nodeId + "' must give true or false, but gave "
          + InputTypes.describe(value));
    }
    return (Boolean) value;
  }

  /**
   * A map node's items: its {@code over} evaluated, as an unmodifiable list of plain values.
   *
   * @throws EvaluationException when it cannot be evaluated, is not a list, or is too long
   * @throws IllegalArgumentException when the node is not a map node
   */
  public List<Object> evaluateOver(String nodeId, EvalContext ctx) {
    Expressions.Compiled over = compiled(nodeId).over();
    if (over == null) throw new IllegalArgumentException("node '" + nodeId + "' is not a map node");
    Object value = evaluate(nodeId, "over", over, ctx);
    if (!(value instanceof List)) {
      throw new EvaluationException(path(nodeId, "over"), "over of node '" + nodeId + "' must give a list, but gave "
          + InputTypes.describe(value));
    }
    List<?> items = (List<?>) value;
    if (items.size() > MAX_MAP_ITEMS) {
      throw new EvaluationException(path(nodeId, "over"), "over of node '" + nodeId + "' gave " + items.size()
          + " items; a map node may have at most " + MAX_MAP_ITEMS);
    }
    @SuppressWarnings("unchecked")
    List<Object> frozen = (List<Object>) JsonValues.freeze(items);
    return frozen;
  }

  private Object evaluate(String nodeId, String field, Expressions.Compiled expr, EvalContext ctx) {
    try {
      return Expressions.evaluate(expr, ctx);
    } catch (CelEvaluationException | IllegalArgumentException e) {
      throw new EvaluationException(path(nodeId, field), field + " of node '" + nodeId + "' ("
          + expr.source() + ") could not be evaluated: " + e.getMessage());
    }
  }

  // ---- outputs ------------------------------------------------------------------------------------

  /** The output schema a step's output must satisfy (a map node's per-item schema), or null. */
  public JsonNode outputSchema(String nodeId) {
    return effectiveStep(nodeId).outputSchema();
  }

  /**
   * Checks one step's output against the node's output schema (for a map node, one item's output).
   *
   * @return readable messages; empty when valid or when the node has no schema
   */
  public List<String> validateOutput(String nodeId, Object output) {
    JsonSchema schema = compiled(nodeId).outputSchema();
    return schema == null ? List.of() : OutputSchemas.validate(schema, output);
  }

  private CompiledNode compiled(String nodeId) {
    CompiledNode n = nodes.get(nodeId);
    if (n == null) throw new IllegalArgumentException("workflow '" + spec.name() + "' has no node '" + nodeId + "'");
    return n;
  }

  private static String path(String nodeId, String field) {
    return "nodes[" + nodeId + "]." + field;
  }

  @Override
  public String toString() {
    return "CompiledWorkflow[" + spec.name() + " v" + spec.version() + ", " + nodes.size() + " nodes]";
  }
}
