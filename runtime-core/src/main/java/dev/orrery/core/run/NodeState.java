package dev.orrery.core.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;
import dev.orrery.core.port.Usage;
import java.time.Instant;
import java.util.List;

/**
 * A node of a run. For a map node {@code items} is the list it fans out over (null until expanded);
 * its output is the items' outputs in input order.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record NodeState(
    @JsonProperty("status") NodeStatus status,
    @JsonProperty("attempts") int attempts,
    @JsonProperty("output") Object output,
    @JsonProperty("error") RunError error,
    @JsonProperty("usage") Usage usage,
    @JsonProperty("provider") String provider,
    @JsonProperty("model") String model,
    @JsonProperty("items") List<Object> items,
    @JsonProperty("skip_reason") String skipReason,
    @JsonProperty("started_at") Instant startedAt,
    @JsonProperty("finished_at") Instant finishedAt) implements JsonSerializable {

  static final NodeState PENDING =
      new NodeState(NodeStatus.PENDING, 0, null, null, Usage.ZERO, null, null, null, null, null, null);

  NodeState withStatus(NodeStatus next) {
    return new NodeState(next, attempts, output, error, usage, provider, model, items, skipReason, startedAt, finishedAt);
  }

  NodeState skipped(String reason, Instant at) {
    return new NodeState(NodeStatus.SKIPPED, attempts, null, null, usage, null, null, items, reason, startedAt, at);
  }

  NodeState expanded(List<Object> list, Instant at) {
    return new NodeState(NodeStatus.RUNNING, attempts, output, error, usage, provider, model, list, null, at, null);
  }

  NodeState stepScheduled(int attempt, Instant at) {
    return new NodeState(NodeStatus.RUNNING, Math.max(attempts, attempt), output, error, usage, provider, model, items,
        null, startedAt == null ? at : startedAt, null);
  }

  NodeState charged(Usage spent, String byProvider, String byModel) {
    return new NodeState(status, attempts, output, error, usage.plus(spent), byProvider, byModel, items, skipReason,
        startedAt, finishedAt);
  }

  NodeState succeeded(Object value, Instant at) {
    return new NodeState(NodeStatus.SUCCEEDED, attempts, value, null, usage, provider, model, items, null, startedAt, at);
  }

  NodeState reused(Object value, String byProvider, String byModel, Instant at) {
    return new NodeState(NodeStatus.SUCCEEDED, attempts, value, null, usage, byProvider, byModel, items, null, at, at);
  }

  NodeState awaitingApproval(Instant at) {
    return new NodeState(NodeStatus.AWAITING_APPROVAL, attempts, output, error, usage, provider, model, items, null,
        at, null);
  }

  NodeState failedWith(RunError why) {
    return new NodeState(status, attempts, output, why, usage, provider, model, items, skipReason, startedAt, finishedAt);
  }

  NodeState finished(NodeStatus terminal, Instant at) {
    return new NodeState(terminal, attempts, output, error, usage, provider, model, items, skipReason, startedAt, at);
  }
}
