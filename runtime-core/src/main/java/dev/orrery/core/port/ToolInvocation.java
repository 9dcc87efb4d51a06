package dev.orrery.core.port;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.JsonSerializable;
import java.time.Duration;

/**
 * One call of a tool. The idempotency key ({@code runId/nodeId/attempt} for a step) lets the tool port
 * answer a repeated call with the result it already has; the timeout is the caller's upper bound, which
 * the port may shorten to its own limit but never lengthen. A null timeout means the port's limit.
 * {@code traceparent} names the span (a step's) the tool call's span belongs to, or is null.
 */
public record ToolInvocation(
    @JsonProperty("idempotency_key") String idempotencyKey,
    @JsonProperty("tenant_id") String tenantId,
    @JsonProperty("tool") String tool,
    @JsonProperty("arguments") JsonNode arguments,
    @JsonProperty("timeout") Duration timeout,
    @JsonProperty("traceparent") String traceparent) implements JsonSerializable {

  public ToolInvocation {
    if (tool == null || tool.isBlank()) throw new IllegalArgumentException("tool must be named, was " + tool);
    if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
      throw new IllegalArgumentException("timeout must be > 0, was " + timeout);
    }
  }

  /** A call outside any trace. */
  public ToolInvocation(String idempotencyKey, String tenantId, String tool, JsonNode arguments, Duration timeout) {
    this(idempotencyKey, tenantId, tool, arguments, timeout, null);
  }
}
