package dev.orrery.core.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;
import dev.orrery.core.port.Usage;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A run as the edge contract shows it: {@code GET /api/v1/runs/{id}}. {@code pins} says which agent
 * versions and route definitions the run's nodes use (recorded when it was accepted); {@code trace_id} is the
 * distributed trace its spans belong to.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RunView(
    @JsonProperty("run_id") String runId,
    @JsonProperty("workflow") String workflow,
    @JsonProperty("workflow_version") int workflowVersion,
    @JsonProperty("status") RunStatus status,
    @JsonProperty("nodes") Map<String, NodeView> nodes,
    @JsonProperty("outputs") Map<String, Object> outputs,
    @JsonProperty("usage") Usage usage,
    @JsonProperty("error") RunError error,
    @JsonProperty("created_at") Instant createdAt,
    @JsonProperty("finished_at") Instant finishedAt,
    @JsonProperty("forked_from") Forked forkedFrom,
    @JsonProperty("approvals") Map<String, RunEvent.ApprovalRequested> approvals,
    @JsonProperty("pins") RunPins pins,
    @JsonProperty("trace_id") String traceId) implements JsonSerializable {

  /** The run a fork came from and the node it changed. */
  public record Forked(@JsonProperty("run_id") String runId, @JsonProperty("node_id") String nodeId)
      implements JsonSerializable {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record NodeView(
      @JsonProperty("status") NodeStatus status,
      @JsonProperty("attempts") int attempts,
      @JsonProperty("output") Object output,
      @JsonProperty("error") RunError error,
      @JsonProperty("usage") Usage usage,
      @JsonProperty("provider") String provider,
      @JsonProperty("model") String model,
      @JsonProperty("items") Integer items,
      @JsonProperty("skip_reason") String skipReason,
      @JsonProperty("started_at") Instant startedAt,
      @JsonProperty("finished_at") Instant finishedAt) implements JsonSerializable {}

  public static RunView of(RunState s) {
    var nodes = new LinkedHashMap<String, NodeView>();
    s.nodes().forEach((id, n) -> nodes.put(id, new NodeView(n.status(), n.attempts(), n.output(), n.error(),
        n.usage(), n.provider(), n.model(), n.items() == null ? null : n.items().size(), n.skipReason(),
        n.startedAt(), n.finishedAt())));
    return new RunView(s.runId(), s.spec().name(), s.spec().version(), s.status(),
        Collections.unmodifiableMap(nodes), s.outputs(), s.usage(), s.error(), s.acceptedAt(), s.finishedAt(),
        s.fork() == null ? null : new Forked(s.fork().runId(), s.fork().nodeId()),
        s.approvals().isEmpty() ? null : s.approvals(), s.pins(), s.trace() == null ? null : s.trace().traceId());
  }
}
