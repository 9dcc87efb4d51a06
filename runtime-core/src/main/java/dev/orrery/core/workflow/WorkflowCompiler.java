package dev.orrery.core.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchema;
import com.samskivert.mustache.MustacheException;
import com.samskivert.mustache.Template;
import dev.cel.common.types.CelKind;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Checks a {@link WorkflowSpec} end to end and builds the {@link CompiledWorkflow}. It keeps going after
 * a problem so that a user sees every problem of a workflow in one answer, each with its path.
 */
final class WorkflowCompiler {
  static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  static final Set<String> RESERVED_IDS = Set.of("inputs", "item", "index");
  static final int MAX_ID_LENGTH = 100;
  static final int MAX_NODES = 1000;

  static final int MAX_PARALLEL = 1000;
  static final long MAX_TIMEOUT_MS = 86_400_000L;
  static final int MAX_ATTEMPTS = 20;
  static final long MAX_BACKOFF_MS = 600_000L;
  static final double MAX_MULTIPLIER = 10.0;
  static final int MAX_TOKENS = 1_000_000;
  static final double MAX_TEMPERATURE = 2.0;

  private final WorkflowSpec spec;
  private final List<Problem> problems = new ArrayList<>();
  /** Valid, unique node ids in spec order, with their index. */
  private final Map<String, Integer> ids = new LinkedHashMap<>();
  private final Map<String, Set<String>> dependencies = new LinkedHashMap<>();
  /** For each dependency edge, whether depends_on names it (else a template or expression does). */
  private final Map<String, Set<String>> explicit = new HashMap<>();
  private final Map<String, CompiledWorkflow.CompiledNode> compiled = new LinkedHashMap<>();
  private Expressions expressions;

  private WorkflowCompiler(WorkflowSpec spec) {
    this.spec = spec;
  }

  static CompiledWorkflow compile(WorkflowSpec spec) {
    if (spec == null) throw new WorkflowException(new Problem("", "MISSING_FIELD", "no workflow given"));
    return new WorkflowCompiler(spec).run();
  }

  private CompiledWorkflow run() {
    checkHeader();
    checkInputs();
    checkPolicy();
    collectIds();
    expressions = new Expressions(ids.keySet());
    for (int i = 0; i < spec.nodes().size(); i++) checkNode(i, spec.nodes().get(i));
    checkCycles();
    if (!problems.isEmpty()) throw new WorkflowException(problems);
    return new CompiledWorkflow(spec, compiled, topologicalOrder());
  }

  // ---- workflow header, inputs, policy -------------------------------------------------------------

  private void checkHeader() {
    if (spec.name() == null || spec.name().isBlank()) {
      problem("name", "MISSING_FIELD", "a workflow needs a name");
    } else if (spec.name().length() > 200 || spec.name().chars().anyMatch(Character::isISOControl)) {
      problem("name", "INVALID_ID", "a workflow name must be at most 200 characters without control characters");
    }
    if (spec.version() < 1) problem("version", "OUT_OF_RANGE", "version must be >= 1, was " + spec.version());
    if (spec.nodes().isEmpty()) problem("nodes", "MISSING_FIELD", "a workflow needs at least one node");
    if (spec.nodes().size() > MAX_NODES) {
      problem("nodes", "OUT_OF_RANGE", "a workflow may have at most " + MAX_NODES + " nodes, has " + spec.nodes().size());
    }
  }

  private void checkInputs() {
    spec.inputs().forEach((name, input) -> {
      String path = "inputs." + name;
      if (!IDENTIFIER.matcher(name).matches()) {
        problem(path, "INVALID_ID", "input name '" + name
            + "' must be a letter or underscore followed by letters, digits or underscores, so that {{inputs."
            + name + "}} and conditions can name it");
      }
      if (!InputSpec.TYPES.contains(input.type())) {
        problem(path + ".type", "UNKNOWN_INPUT_TYPE",
            "unknown input type '" + input.type() + "'; expected one of " + String.join(", ", InputSpec.TYPES));
      } else if (input.defaultValue() != null && !InputTypes.matches(input.type(), input.defaultValue())) {
        problem(path + ".default", "INVALID_INPUT", "the default value " + InputTypes.describe(input.defaultValue())
            + " is not of type " + input.type());
      }
    });
  }

  private void checkPolicy() {
    Policy p = spec.policy();
    range("policy.max_parallel", p.maxParallel(), 1, MAX_PARALLEL);
    if (p.tokenBudget() != null && p.tokenBudget() <= 0) {
      problem("policy.token_budget", "OUT_OF_RANGE", "token_budget must be > 0, was " + p.tokenBudget());
    }
    if (!Policy.ON_BUDGET_FAIL.equals(p.onBudgetExhausted()) && !Policy.ON_BUDGET_PAUSE.equals(p.onBudgetExhausted())) {
      problem("policy.on_budget_exhausted", "OUT_OF_RANGE",
          "on_budget_exhausted must be fail or pause, was '" + p.onBudgetExhausted() + "'");
    }
    range("policy.timeout_ms", p.timeoutMs(), 1, MAX_TIMEOUT_MS);
    range("policy.step_timeout_ms", p.stepTimeoutMs(), 1, MAX_TIMEOUT_MS);
    checkRetry("policy.retry", p.retry());
  }

  private void checkRetry(String path, RetryPolicy r) {
    if (r == null) return;
    range(path + ".max_attempts", r.maxAttempts(), 1, MAX_ATTEMPTS);
    range(path + ".backoff_ms", r.backoffMs(), 0, MAX_BACKOFF_MS);
    range(path + ".max_backoff_ms", r.maxBackoffMs(), 0, MAX_BACKOFF_MS);
    if (!(r.multiplier() >= 1.0 && r.multiplier() <= MAX_MULTIPLIER)) {
      problem(path + ".multiplier", "OUT_OF_RANGE", "multiplier must be between 1 and " + MAX_MULTIPLIER + ", was " + r.multiplier());
    }
  }

  // ---- nodes --------------------------------------------------------------------------------------

  private void collectIds() {
    for (int i = 0; i < spec.nodes().size(); i++) {
      String id = spec.nodes().get(i).id();
      String path = "nodes[" + i + "].id";
      if (id == null || id.isBlank()) {
        problem(path, "MISSING_FIELD", "every node needs an id");
      } else if (!IDENTIFIER.matcher(id).matches() || id.length() > MAX_ID_LENGTH) {
        problem(path, "INVALID_ID", "node id '" + id + "' must be a letter or underscore followed by at most "
            + (MAX_ID_LENGTH - 1) + " letters, digits or underscores: templates and conditions use it as a name");
      } else if (RESERVED_IDS.contains(id)) {
        problem(path, "INVALID_ID", "node id '" + id + "' is reserved: inputs, item and index name the run's data");
      } else if (Expressions.CEL_RESERVED.contains(id)) {
        problem(path, "INVALID_ID", "node id '" + id + "' is a reserved word in conditions");
      } else if (ids.containsKey(id)) {
        problem(path, "DUPLICATE_ID", "node id '" + id + "' is already used by nodes[" + ids.get(id) + "]");
      } else {
        ids.put(id, i);
      }
    }
  }

  /** Where node {@code i} is: by id when it has a usable one, by position otherwise. */
  private String base(int i) {
    String id = spec.nodes().get(i).id();
    return id != null && Integer.valueOf(i).equals(ids.get(id)) ? "nodes[" + id + "]" : "nodes[" + i + "]";
  }

  private void checkNode(int i, NodeSpec n) {
    String base = base(i);
    boolean named = n.id() != null && Integer.valueOf(i).equals(ids.get(n.id()));
    var refs = new LinkedHashSet<String>();
    var parts = new Parts();

    if (n.type() == null) {
      problem(base + ".type", "MISSING_FIELD", "a node needs a type; supported kinds: " + kinds());
    } else if (NodeSpec.LLM.equals(n.type())) {
      checkLlm(base, n, false, parts, refs);
    } else if (NodeSpec.MAP.equals(n.type())) {
      checkMap(base, n, parts, refs);
    } else if (NodeSpec.APPROVAL.equals(n.type())) {
      checkApproval(base, n, parts, refs);
    } else if (NodeSpec.TOOL.equals(n.type())) {
      checkTool(base, n, parts, refs);
    } else if (NodeSpec.AGENT.equals(n.type())) {
      checkAgent(base, n, parts, refs);
    } else {
      problem(base + ".type", "UNKNOWN_NODE_TYPE", unknownKind(n.type()));
    }

    range(base + ".timeout_ms", n.timeoutMs(), 1, MAX_TIMEOUT_MS);
    checkRetry(base + ".retry", n.retry());
    var explicitDeps = new LinkedHashSet<String>();
    for (int j = 0; j < n.dependsOn().size(); j++) {
      String dep = n.dependsOn().get(j);
      if (ids.containsKey(dep)) {
        explicitDeps.add(dep);
      } else {
        problem(base + ".depends_on[" + j + "]", "UNKNOWN_DEPENDENCY",
            "depends on '" + dep + "', which is not a node of this workflow; nodes: " + String.join(", ", ids.keySet()));
      }
    }
    if (n.when() != null) parts.when = checkExpression(base + ".when", n.when(), true, refs);

    if (!named) return;
    var deps = new LinkedHashSet<String>();
    // Spec order keeps every later iteration over dependencies deterministic.
    for (String id : ids.keySet()) {
      if (explicitDeps.contains(id) || refs.contains(id)) deps.add(id);
    }
    dependencies.put(n.id(), Collections.unmodifiableSet(deps));
    explicit.put(n.id(), explicitDeps);
    NodeSpec step = NodeSpec.MAP.equals(n.type()) && n.node() != null
        ? n.node().withId(n.id()).withDependsOn(List.of())
            .withTimeoutAndRetry(n.node().timeoutMs() != null ? n.node().timeoutMs() : n.timeoutMs(),
                n.node().retry() != null ? n.node().retry() : n.retry())
        : n;
    compiled.put(n.id(), new CompiledWorkflow.CompiledNode(n, step, parts.prompt, parts.system, parts.when,
        parts.over, parts.schema, Collections.unmodifiableMap(parts.arguments), Collections.unmodifiableSet(deps)));
  }

  /** What compiling a node produced, gathered while its fields are checked. */
  private static final class Parts {
    Template prompt;
    Template system;
    Expressions.Compiled when;
    Expressions.Compiled over;
    JsonSchema schema;
    /** A tool node's argument templates by JSON pointer. */
    final Map<String, Template> arguments = new LinkedHashMap<>();
  }

  private void checkLlm(String base, NodeSpec n, boolean perItem, Parts parts, Set<String> refs) {
    if (n.prompt() == null || n.prompt().isBlank()) {
      problem(base + ".prompt", "MISSING_FIELD", "an llm node needs a prompt");
    } else {
      parts.prompt = checkTemplate(base + ".prompt", n.prompt(), perItem, refs);
    }
    if (n.system() != null) parts.system = checkTemplate(base + ".system", n.system(), perItem, refs);
    range(base + ".max_tokens", n.maxTokens(), 1, MAX_TOKENS);
    if (n.temperature() != null && !(n.temperature() >= 0.0 && n.temperature() <= MAX_TEMPERATURE)) {
      problem(base + ".temperature", "OUT_OF_RANGE", "temperature must be between 0 and 2, was " + n.temperature());
    }
    if (n.outputSchema() != null) parts.schema = checkSchema(base + ".output_schema", n.outputSchema());
    String where = perItem ? "a map's per-item node" : "an llm node";
    onlyFields(base, n, where, LLM_FIELDS);
    if (perItem) {
      if (!n.dependsOn().isEmpty()) {
        problem(base + ".depends_on", "UNEXPECTED_FIELD", "a map's per-item node cannot have depends_on; put it on the map node");
      }
      if (n.when() != null) {
        problem(base + ".when", "UNEXPECTED_FIELD", "a map's per-item node cannot have a when; put it on the map node");
      }
      range(base + ".timeout_ms", n.timeoutMs(), 1, MAX_TIMEOUT_MS);
      checkRetry(base + ".retry", n.retry());
    }
  }

  private void checkMap(String base, NodeSpec n, Parts parts, Set<String> refs) {
    if (n.over() == null || n.over().isBlank()) {
      problem(base + ".over", "MISSING_FIELD", "a map node needs 'over', an expression giving the list to map over");
    } else {
      parts.over = checkExpression(base + ".over", n.over(), false, refs);
    }
    range(base + ".max_parallel", n.maxParallel(), 1, MAX_PARALLEL);
    if (n.node() == null) {
      problem(base + ".node", "MISSING_FIELD", "a map node needs 'node', the llm node to run for each item");
    } else if (n.node().type() == null) {
      problem(base + ".node.type", "MISSING_FIELD", "the per-item node needs a type; it must be llm");
    } else if (!NodeSpec.LLM.equals(n.node().type())) {
      problem(base + ".node.type", "UNKNOWN_NODE_TYPE",
          NodeSpec.KINDS.contains(n.node().type())
              ? "a map's per-item node must be an llm node in this version, was '" + n.node().type() + "'"
              : unknownKind(n.node().type()));
    } else {
      Parts inner = new Parts();
      checkLlm(base + ".node", n.node(), true, inner, refs);
      parts.prompt = inner.prompt;
      parts.system = inner.system;
      parts.schema = inner.schema;
    }
    String where = "a map node (it belongs on the per-item node)";
    onlyFields(base, n, where, MAP_FIELDS);
  }

  /** An approval node: the message a person decides on, an optional deadline and its default decision. */
  private void checkApproval(String base, NodeSpec n, Parts parts, Set<String> refs) {
    if (n.prompt() == null || n.prompt().isBlank()) {
      problem(base + ".prompt", "MISSING_FIELD", "an approval node needs a prompt: what the approver decides on");
    } else {
      parts.prompt = checkTemplate(base + ".prompt", n.prompt(), false, refs);
    }
    if (n.defaultDecision() != null && !List.of(NodeSpec.APPROVE, NodeSpec.DENY).contains(n.defaultDecision())) {
      problem(base + ".default", "INVALID_VALUE", "default must be 'approve' or 'deny', was '" + n.defaultDecision() + "'");
    }
    if (n.defaultDecision() != null && n.timeoutMs() == null) {
      problem(base + ".default", "UNEXPECTED_FIELD", "default is the decision when timeout_ms passes; set timeout_ms too");
    }
    if (n.onDeny() != null && !List.of(NodeSpec.ON_DENY_FAIL, NodeSpec.ON_DENY_CONTINUE).contains(n.onDeny())) {
      problem(base + ".on_deny", "INVALID_VALUE", "on_deny must be 'fail' or 'continue', was '" + n.onDeny() + "'");
    }
    String where = "an approval node";
    onlyFields(base, n, where, APPROVAL_FIELDS);
  }

  /**
   * A tool node: the tool's name (whether the node offers it is the caller's check) and its arguments, an
   * object whose string values, at any depth, are templates over the run's inputs and earlier outputs.
   */
  private void checkTool(String base, NodeSpec n, Parts parts, Set<String> refs) {
    if (n.tool() == null || n.tool().isBlank()) {
      problem(base + ".tool", "MISSING_FIELD", "a tool node needs 'tool', the name of the tool to call");
    }
    if (n.arguments() != null && !n.arguments().isObject()) {
      problem(base + ".arguments", "INVALID_VALUE", "arguments must be an object");
    } else if (n.arguments() != null) {
      checkArguments(base + ".arguments", "", n.arguments(), parts, refs);
    }
    String where = "a tool node";
    onlyFields(base, n, where, TOOL_FIELDS);
  }

  /**
   * An agent node: the agent (by name; whether the tenant has it is known when the step runs), its task
   * (the {@code prompt}, a template) and an optional {@code context} object whose strings are templates.
   */
  private void checkAgent(String base, NodeSpec n, Parts parts, Set<String> refs) {
    if (n.agent() == null || n.agent().isBlank()) {
      problem(base + ".agent", "MISSING_FIELD", "an agent node needs 'agent', the name of the agent to run");
    }
    if (n.prompt() == null || n.prompt().isBlank()) {
      problem(base + ".prompt", "MISSING_FIELD", "an agent node needs a prompt: the task it gives the agent");
    } else {
      parts.prompt = checkTemplate(base + ".prompt", n.prompt(), false, refs);
    }
    if (n.context() != null && !n.context().isObject()) {
      problem(base + ".context", "INVALID_VALUE", "context must be an object");
    } else if (n.context() != null) {
      checkArguments(base + ".context", "", n.context(), parts, refs);
    }
    String where = "an agent node (its agent's definition sets them)";
    onlyFields(base, n, where, AGENT_FIELDS);
  }

  private void checkArguments(String path, String pointer, JsonNode value, Parts parts, Set<String> refs) {
    if (value.isTextual()) {
      Template t = checkTemplate(path, value.asText(), false, refs);
      if (t != null) parts.arguments.put(pointer, t);
    } else if (value.isObject()) {
      value.fields().forEachRemaining(f -> checkArguments(path + "." + f.getKey(),
          pointer + "/" + f.getKey().replace("~", "~0").replace("/", "~1"), f.getValue(), parts, refs));
    } else if (value.isArray()) {
      for (int i = 0; i < value.size(); i++) checkArguments(path + "[" + i + "]", pointer + "/" + i, value.get(i), parts, refs);
    }
  }

  private static String kinds() {
    return String.join(", ", NodeSpec.KINDS);
  }

  private static String unknownKind(String type) {
    return "unknown node kind '" + type + "'; supported kinds: " + kinds();
  }

  /** The optional fields of a node, in the order their problems are reported; each kind allows some. */
  private static final Map<String, Function<NodeSpec, Object>> OPTIONAL_FIELDS = optionalFields();
  private static final Set<String> LLM_FIELDS = Set.of("prompt", "system", "route", "model", "max_tokens",
      "temperature", "output_schema", "retry");
  private static final Set<String> MAP_FIELDS = Set.of("over", "node", "max_parallel", "retry");
  private static final Set<String> APPROVAL_FIELDS = Set.of("prompt", "default", "on_deny");
  private static final Set<String> TOOL_FIELDS = Set.of("tool", "arguments", "retry");
  private static final Set<String> AGENT_FIELDS = Set.of("agent", "prompt", "context", "retry");

  private static Map<String, Function<NodeSpec, Object>> optionalFields() {
    Map<String, Function<NodeSpec, Object>> f = new LinkedHashMap<>();
    f.put("prompt", NodeSpec::prompt);
    f.put("system", NodeSpec::system);
    f.put("route", NodeSpec::route);
    f.put("model", NodeSpec::model);
    f.put("max_tokens", NodeSpec::maxTokens);
    f.put("temperature", NodeSpec::temperature);
    f.put("output_schema", NodeSpec::outputSchema);
    f.put("retry", NodeSpec::retry);
    f.put("over", NodeSpec::over);
    f.put("node", NodeSpec::node);
    f.put("max_parallel", NodeSpec::maxParallel);
    f.put("default", NodeSpec::defaultDecision);
    f.put("on_deny", NodeSpec::onDeny);
    f.put("tool", NodeSpec::tool);
    f.put("arguments", NodeSpec::arguments);
    f.put("agent", NodeSpec::agent);
    f.put("context", NodeSpec::context);
    return Collections.unmodifiableMap(f);
  }

  /** Every optional field the node sets that its kind does not take is a problem. */
  private void onlyFields(String base, NodeSpec n, String where, Set<String> allowed) {
    OPTIONAL_FIELDS.forEach((field, value) -> {
      if (!allowed.contains(field)) unexpected(base, field, value.apply(n), where);
    });
  }

  private void unexpected(String base, String field, Object value, String where) {
    if (value != null) problem(base + "." + field, "UNEXPECTED_FIELD", "'" + field + "' does not apply to " + where);
  }

  // ---- templates, expressions, schemas --------------------------------------------------------------

  private Template checkTemplate(String path, String source, boolean perItem, Set<String> refs) {
    Template template;
    Templates.References names;
    try {
      template = Templates.compile(source);
      names = Templates.references(template);
    } catch (MustacheException e) {
      problem(path, "INVALID_TEMPLATE", "not a valid template: " + e.getMessage());
      return null;
    }
    if (!names.partials().isEmpty()) {
      problem(path, "INVALID_TEMPLATE", "partials are not supported in prompts: " + String.join(", ", names.partials()));
      return null;
    }
    for (String name : names.topLevel()) {
      String first = firstSegment(name);
      if (first.equals("inputs")) {
        int dot = name.indexOf('.');
        if (dot > 0) {
          String input = firstSegment(name.substring(dot + 1));
          if (!spec.inputs().containsKey(input)) problem(path, "UNKNOWN_REFERENCE", unknownInput("{{" + name + "}}", input));
        }
      } else if (first.equals("item") || first.equals("index")) {
        if (!perItem) {
          problem(path, "UNKNOWN_REFERENCE", "{{" + name + "}}: '" + first + "' is only defined in a map's per-item node");
        }
      } else if (name.equals(".") || name.equals("this")) {
        problem(path, "UNKNOWN_REFERENCE", "{{" + name + "}} outside a section would render everything; name what you mean, e.g. {{item}}");
      } else if (!ids.containsKey(first)) {
        problem(path, "UNKNOWN_REFERENCE", "{{" + name + "}} refers to '" + first
            + "', which is neither a node nor inputs" + (perItem ? ", item or index" : "") + "; nodes: " + String.join(", ", ids.keySet()));
      }
    }
    // Names inside sections may be relative to the section, but one that names a node is read from it.
    for (String name : names.all()) {
      String first = firstSegment(name);
      if (ids.containsKey(first)) refs.add(first);
    }
    return template;
  }

  private static String firstSegment(String name) {
    int dot = name.indexOf('.');
    return dot < 0 ? name : name.substring(0, dot);
  }

  private String unknownInput(String what, String input) {
    return what + ": '" + input + "' is not a declared input; "
        + (spec.inputs().isEmpty() ? "this workflow declares no inputs" : "declared inputs: " + String.join(", ", spec.inputs().keySet()));
  }

  private Expressions.Compiled checkExpression(String path, String source, boolean condition, Set<String> refs) {
    String field = condition ? "when" : "over";
    Expressions.Compiled expr = expressions.compile(source);
    if (!expr.ok()) {
      problem(path, expr.onlyUndeclared() ? "UNKNOWN_REFERENCE" : "INVALID_CONDITION",
          field + " '" + source + "': " + String.join("; ", expr.errors()));
      return null;
    }
    boolean valid = true;
    for (String ident : expr.freeIdentifiers()) {
      if (ident.equals("item") || ident.equals("index")) {
        problem(path, "UNKNOWN_REFERENCE", field + " '" + source + "': '" + ident + "' is only defined in a map's per-item node");
        valid = false;
      } else if (ids.containsKey(ident)) {
        refs.add(ident);
      }
    }
    for (String input : expr.inputFields()) {
      if (!spec.inputs().containsKey(input)) {
        problem(path, "UNKNOWN_REFERENCE", unknownInput(field + " '" + source + "'", input));
        valid = false;
      }
    }
    CelKind kind = expr.resultKind();
    boolean dynamic = kind == CelKind.DYN || kind == CelKind.ANY;
    if (condition && !dynamic && kind != CelKind.BOOL) {
      problem(path, "INVALID_CONDITION", "when '" + source + "' must be a true/false condition, but gives " + kind.name().toLowerCase());
      valid = false;
    } else if (!condition && !dynamic && kind != CelKind.LIST) {
      problem(path, "INVALID_CONDITION", "over '" + source + "' must give a list, but gives " + kind.name().toLowerCase());
      valid = false;
    }
    return valid ? expr : null;
  }

  private JsonSchema checkSchema(String path, JsonNode schema) {
    List<String> messages = OutputSchemas.problems(schema);
    if (!messages.isEmpty()) {
      problem(path, "INVALID_SCHEMA", "not a valid JSON Schema (draft 2020-12): " + String.join("; ", messages));
      return null;
    }
    return OutputSchemas.load(schema);
  }

  // ---- the graph ----------------------------------------------------------------------------------

  /** Reports each elementary cycle that a depth-first search closes, once, as {@code a -> b -> a}. */
  private void checkCycles() {
    var state = new HashMap<String, Integer>(); // absent: unvisited, 1: on the stack, 2: done
    var seen = new HashSet<List<String>>();
    for (String start : ids.keySet()) {
      if (state.containsKey(start)) continue;
      // Iterative so that a long chain of nodes cannot overflow the stack.
      Deque<Map.Entry<String, java.util.Iterator<String>>> stack = new ArrayDeque<>();
      List<String> path = new ArrayList<>();
      stack.push(Map.entry(start, deps(start).iterator()));
      path.add(start);
      state.put(start, 1);
      while (!stack.isEmpty()) {
        var top = stack.peek();
        if (top.getValue().hasNext()) {
          String next = top.getValue().next();
          Integer s = state.get(next);
          if (s == null) {
            state.put(next, 1);
            stack.push(Map.entry(next, deps(next).iterator()));
            path.add(next);
          } else if (s == 1) {
            reportCycle(path.subList(path.indexOf(next), path.size()), seen);
          }
        } else {
          state.put(top.getKey(), 2);
          stack.pop();
          path.remove(path.size() - 1);
        }
      }
    }
  }

  private Set<String> deps(String id) {
    return dependencies.getOrDefault(id, Set.of());
  }

  private void reportCycle(List<String> cycle, Set<List<String>> seen) {
    // Rotate to start at the node that comes first in the spec, so the same cycle reads the same way.
    int first = 0;
    for (int k = 1; k < cycle.size(); k++) {
      if (ids.get(cycle.get(k)) < ids.get(cycle.get(first))) first = k;
    }
    var rotated = new ArrayList<String>(cycle.subList(first, cycle.size()));
    rotated.addAll(cycle.subList(0, first));
    if (!seen.add(rotated)) return;
    String from = rotated.get(0);
    String to = rotated.size() > 1 ? rotated.get(1) : from;
    boolean viaDependsOn = explicit.getOrDefault(from, Set.of()).contains(to);
    var text = new StringBuilder();
    for (String id : rotated) text.append(id).append(" -> ");
    text.append(from);
    problem("nodes[" + from + "]" + (viaDependsOn ? ".depends_on" : ""), "CYCLE",
        "dependency cycle: " + text + " (each node depends on the next"
            + (viaDependsOn ? "" : "; references in templates, when and over count as dependencies") + ")");
  }

  /** Kahn's algorithm, taking the earliest node in the spec whenever several are ready. */
  private List<String> topologicalOrder() {
    var remaining = new HashMap<String, Integer>();
    var dependants = new HashMap<String, List<String>>();
    for (String id : ids.keySet()) {
      remaining.put(id, deps(id).size());
      for (String dep : deps(id)) dependants.computeIfAbsent(dep, k -> new ArrayList<>()).add(id);
    }
    var ready = new PriorityQueue<String>((a, b) -> Integer.compare(ids.get(a), ids.get(b)));
    remaining.forEach((id, count) -> {
      if (count == 0) ready.add(id);
    });
    var order = new ArrayList<String>(ids.size());
    while (!ready.isEmpty()) {
      String id = ready.poll();
      order.add(id);
      for (String d : dependants.getOrDefault(id, List.of())) {
        if (remaining.merge(d, -1, Integer::sum) == 0) ready.add(d);
      }
    }
    return List.copyOf(order);
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private void range(String path, Number value, long min, long max) {
    if (value == null) return;
    long v = value.longValue();
    if (v < min || v > max) {
      problem(path, "OUT_OF_RANGE", leaf(path) + " must be between " + min + " and " + max + ", was " + v);
    }
  }

  private static String leaf(String path) {
    return path.substring(path.lastIndexOf('.') + 1);
  }

  private void problem(String path, String code, String message) {
    problems.add(new Problem(path, code, message));
  }
}
