package dev.orrery.core.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;
import dev.orrery.core.port.Usage;
import java.time.Instant;

/**
 * One step of a run: a node's call, or one item of a map node. {@code retryAt} is when a step in
 * {@link StepStatus#RETRY_WAIT} is due, so a recovered run resumes its backoff instead of restarting it.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record StepState(
    @JsonProperty("node_id") String nodeId,
    @JsonProperty("item") Integer item,
    @JsonProperty("status") StepStatus status,
    @JsonProperty("attempt") int attempt,
    @JsonProperty("output") Object output,
    @JsonProperty("error") RunError error,
    @JsonProperty("usage") Usage usage,
    @JsonProperty("provider") String provider,
    @JsonProperty("model") String model,
    @JsonProperty("scheduled_at") Instant scheduledAt,
    @JsonProperty("retry_at") Instant retryAt,
    @JsonProperty("finished_at") Instant finishedAt) implements JsonSerializable {

  /** The key of a step within its run: the node id, with the item index for a map node's items. */
  public static String key(String nodeId, Integer item) {
    return item == null ? nodeId : nodeId + "[" + item + "]";
  }

  public String key() {
    return key(nodeId, item);
  }

  static StepState scheduled(String nodeId, Integer item, int attempt, Instant at) {
    return new StepState(nodeId, item, StepStatus.SCHEDULED, attempt, null, null, null, null, null, at, null, null);
  }

  StepState rescheduled(int nextAttempt, Instant at) {
    return new StepState(nodeId, item, StepStatus.SCHEDULED, nextAttempt, null, error, usage, null, null, at, null, null);
  }

  StepState succeeded(Object value, Usage spent, String byProvider, String byModel, Instant at) {
    return new StepState(nodeId, item, StepStatus.SUCCEEDED, attempt, value, null, sum(spent), byProvider, byModel,
        scheduledAt, null, at);
  }

  StepState failed(RunError why, Instant at) {
    return new StepState(nodeId, item, StepStatus.FAILED, attempt, null, why, usage, provider, model, scheduledAt,
        null, at);
  }

  StepState awaitingRetry(int nextAttempt, Instant due) {
    return new StepState(nodeId, item, StepStatus.RETRY_WAIT, nextAttempt, null, error, usage, provider, model,
        scheduledAt, due, null);
  }

  StepState awaitingBudget(RunError why) {
    return new StepState(nodeId, item, StepStatus.BUDGET_WAIT, attempt, null, why, usage, provider, model,
        scheduledAt, null, null);
  }

  StepState cancelled(Instant at) {
    return new StepState(nodeId, item, StepStatus.CANCELLED, attempt, output, error, usage, provider, model,
        scheduledAt, null, at);
  }

  private Usage sum(Usage spent) {
    return usage == null ? spent : usage.plus(spent);
  }
}
