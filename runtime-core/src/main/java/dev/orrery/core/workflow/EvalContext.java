package dev.orrery.core.workflow;

import dev.cel.common.values.NullValue;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What templates and conditions can see while a run executes: {@code inputs} (the run's inputs), each
 * finished node as {@code <id>} = {@code {"output": …, "status": …}}, and inside a map's per-item node
 * {@code item} and {@code index}. Immutable and safe to share; the views handed to the template and CEL
 * engines are built once per context (and the node part once per run state, not once per map item).
 */
public final class EvalContext {
  private static final EvalContext EMPTY = new EvalContext(new Base(Map.of(), Map.of()), false, null, 0);

  private final Base base;
  private final boolean hasItem;
  private final Object item;
  private final int index;
  private volatile Map<String, Object> templateScope;
  private volatile Map<String, Object> celVariables;

  private EvalContext(Base base, boolean hasItem, Object item, int index) {
    this.base = base;
    this.hasItem = hasItem;
    this.item = item;
    this.index = index;
  }

  /**
   * @param inputs the run's inputs (with defaults applied, see {@link CompiledWorkflow#withDefaults})
   * @param nodes the results of finished (succeeded or skipped) nodes, by node id
   */
  public static EvalContext of(Map<String, ?> inputs, Map<String, NodeResult> nodes) {
    var copy = new LinkedHashMap<String, NodeResult>();
    if (nodes != null) {
      nodes.forEach((id, r) -> copy.put(Objects.requireNonNull(id, "node id"), Objects.requireNonNull(r, id)));
    }
    return new EvalContext(new Base(JsonValues.freezeMap(inputs), Collections.unmodifiableMap(copy)), false, null, 0);
  }

  public static EvalContext empty() {
    return EMPTY;
  }

  /** This context inside a map's per-item node: {@code item} and {@code index} become visible. */
  public EvalContext withItem(Object item, int index) {
    if (index < 0) throw new IllegalArgumentException("index must be >= 0, was " + index);
    return new EvalContext(base, true, JsonValues.freeze(item), index);
  }

  /** This context with one more finished node. */
  public EvalContext withNode(String nodeId, NodeResult result) {
    var nodes = new LinkedHashMap<>(base.nodes);
    nodes.put(Objects.requireNonNull(nodeId, "node id"), Objects.requireNonNull(result, "result"));
    return new EvalContext(new Base(base.inputs, Collections.unmodifiableMap(nodes)), hasItem, item, index);
  }

  public Map<String, Object> inputs() {
    return base.inputs;
  }

  public Map<String, NodeResult> nodes() {
    return base.nodes;
  }

  public boolean hasItem() {
    return hasItem;
  }

  /** The current map item, or null outside a map. */
  public Object item() {
    return item;
  }

  public int index() {
    return index;
  }

  /** The root object templates render against. */
  Map<String, Object> templateScope() {
    Map<String, Object> scope = templateScope;
    if (scope == null) {
      if (!hasItem) {
        scope = base.templateScope();
      } else {
        var m = new LinkedHashMap<>(base.templateScope());
        m.put("item", item);
        m.put("index", (long) index);
        scope = Collections.unmodifiableMap(m);
      }
      templateScope = scope;
    }
    return scope;
  }

  /** The activation CEL evaluates against: the same data, with JSON null as CEL's null value. */
  Map<String, Object> celVariables() {
    Map<String, Object> vars = celVariables;
    if (vars == null) {
      if (!hasItem) {
        vars = base.celVariables();
      } else {
        var m = new LinkedHashMap<>(base.celVariables());
        m.put("item", toCel(item));
        m.put("index", (long) index);
        vars = Collections.unmodifiableMap(m);
      }
      celVariables = vars;
    }
    return vars;
  }

  static Object toCel(Object value) {
    if (value == null) return NullValue.NULL_VALUE;
    if (value instanceof Map) {
      var m = new LinkedHashMap<String, Object>();
      ((Map<?, ?>) value).forEach((k, v) -> m.put((String) k, toCel(v)));
      return m;
    }
    if (value instanceof List) {
      var l = new ArrayList<Object>(((List<?>) value).size());
      for (Object v : (List<?>) value) l.add(toCel(v));
      return l;
    }
    return value;
  }

  /** The part shared by a context and all its per-item contexts; its views are computed at most once. */
  private static final class Base {
    final Map<String, Object> inputs;
    final Map<String, NodeResult> nodes;
    private volatile Map<String, Object> templateScope;
    private volatile Map<String, Object> celVariables;

    Base(Map<String, Object> inputs, Map<String, NodeResult> nodes) {
      this.inputs = inputs;
      this.nodes = nodes;
    }

    Map<String, Object> templateScope() {
      Map<String, Object> scope = templateScope;
      if (scope == null) {
        var m = new LinkedHashMap<String, Object>();
        m.put("inputs", inputs);
        nodes.forEach((id, r) -> m.put(id, view(r)));
        scope = Collections.unmodifiableMap(m);
        templateScope = scope;
      }
      return scope;
    }

    Map<String, Object> celVariables() {
      Map<String, Object> vars = celVariables;
      if (vars == null) {
        var m = new LinkedHashMap<String, Object>();
        m.put("inputs", toCel(inputs));
        nodes.forEach((id, r) -> m.put(id, toCel(view(r))));
        vars = Collections.unmodifiableMap(m);
        celVariables = vars;
      }
      return vars;
    }

    private static Map<String, Object> view(NodeResult r) {
      var m = new LinkedHashMap<String, Object>();
      m.put("output", r.output());
      m.put("status", r.status());
      return Collections.unmodifiableMap(m);
    }
  }
}
