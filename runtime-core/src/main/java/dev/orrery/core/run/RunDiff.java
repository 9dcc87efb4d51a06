package dev.orrery.core.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.port.RouteDefinition;
import dev.orrery.core.port.Usage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Two runs side by side, node by node: what differs in inputs, outputs, provider and model, tokens, cost,
 * duration, and what the node was pinned to (its agent's version, its route's definition). Made for a
 * fork and its original, but any two runs of the caller's tenant compare.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RunDiff(
    @JsonProperty("a") String a,
    @JsonProperty("b") String b,
    @JsonProperty("same") boolean same,
    @JsonProperty("inputs") Side<Map<String, Object>> inputs,
    @JsonProperty("nodes") List<NodeDiff> nodes,
    @JsonProperty("usage") Side<Usage> usage) {

  /** A value in run a and in run b; present only where they differ. */
  public record Side<T>(@JsonProperty("a") T a, @JsonProperty("b") T b) {}

  /** One node: its facts in both runs and the names of those that differ. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record NodeDiff(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("differs") List<String> differs,
      @JsonProperty("a") NodeFacts a,
      @JsonProperty("b") NodeFacts b) {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record NodeFacts(
      @JsonProperty("status") NodeStatus status,
      @JsonProperty("output") Object output,
      @JsonProperty("provider") String provider,
      @JsonProperty("model") String model,
      @JsonProperty("tokens") long tokens,
      @JsonProperty("cost_micros") long costMicros,
      @JsonProperty("duration_ms") Long durationMs,
      @JsonProperty("reused") boolean reused,
      @JsonProperty("agent_version") Integer agentVersion,
      @JsonProperty("route") RouteDefinition route) {

    static NodeFacts of(RunState run, String nodeId) {
      if (!run.nodes().containsKey(nodeId)) return null;
      NodeState n = run.node(nodeId);
      Long duration = n.startedAt() == null || n.finishedAt() == null ? null
          : Duration.between(n.startedAt(), n.finishedAt()).toMillis();
      boolean reused = run.fork() != null && run.fork().reused().containsKey(nodeId);
      return new NodeFacts(n.status(), n.output(), n.provider(), n.model(), n.usage().tokensIn() + n.usage().tokensOut(),
          n.usage().costMicros(), duration, reused, run.pins().agentVersion(nodeId), run.pins().route(nodeId));
    }
  }

  public static RunDiff of(RunState a, RunState b) {
    Set<String> ids = new LinkedHashSet<>(a.nodes().keySet());
    ids.addAll(b.nodes().keySet());
    List<NodeDiff> nodes = new ArrayList<>();
    boolean same = Objects.equals(a.inputs(), b.inputs());
    for (String id : ids) {
      NodeFacts fa = NodeFacts.of(a, id);
      NodeFacts fb = NodeFacts.of(b, id);
      List<String> differs = differences(fa, fb);
      // Durations always differ a little; they are shown, not counted as a difference of the runs.
      if (differs.stream().anyMatch(d -> !d.equals("duration_ms"))) same = false;
      nodes.add(new NodeDiff(id, differs, fa, fb));
    }
    return new RunDiff(a.runId(), b.runId(), same,
        Objects.equals(a.inputs(), b.inputs()) ? null : new Side<>(a.inputs(), b.inputs()), nodes,
        new Side<>(a.usage(), b.usage()));
  }

  private static List<String> differences(NodeFacts a, NodeFacts b) {
    if (a == null || b == null) return List.of("node");
    Map<String, Boolean> fields = new LinkedHashMap<>();
    fields.put("status", a.status() == b.status());
    fields.put("output", Objects.equals(a.output(), b.output()));
    fields.put("provider", Objects.equals(a.provider(), b.provider()));
    fields.put("model", Objects.equals(a.model(), b.model()));
    fields.put("tokens", a.tokens() == b.tokens());
    fields.put("cost_micros", a.costMicros() == b.costMicros());
    fields.put("duration_ms", Objects.equals(a.durationMs(), b.durationMs()));
    fields.put("agent_version", Objects.equals(a.agentVersion(), b.agentVersion()));
    fields.put("route", Objects.equals(a.route(), b.route()));
    List<String> out = new ArrayList<>();
    fields.forEach((k, equal) -> {
      if (!equal) out.add(k);
    });
    return out;
  }
}
