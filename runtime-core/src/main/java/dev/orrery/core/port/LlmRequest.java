package dev.orrery.core.port;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;

/**
 * One LLM call as a step asks for it. {@code route} names a router policy ({@code default} when the node
 * names neither route nor model); {@code model} pins a model. The idempotency key is
 * {@code runId/nodeId/attempt}: a port that sees the same key twice must not call a provider twice. Steps
 * always carry one; a null key marks a one-off call (the gateway's, without an Idempotency-Key header).
 *
 * @param outputSchema a JSON Schema the answer must satisfy, or null for free text
 * @param tools tools the model may call (empty for none)
 * @param deltas where to stream the answer's text as it arrives, or null for a non-streaming call
 * @param runId the run whose step makes the call, or null (the gateway): what its cost is attributed to
 * @param nodeId the step's node (with its map item, as {@code node[3]}), or null
 * @param pinnedRoute the route as the run recorded it when it was accepted, which the port serves the call
 *     over where it can (null: the route as the port has it now)
 * @param traceparent the W3C trace context of the span the call belongs to (a step's, a gateway request's),
 *     or null: the port's spans for the call are its children
 */
public record LlmRequest(
    String idempotencyKey,
    String tenantId,
    String route,
    String model,
    List<ChatMessage> messages,
    int maxTokens,
    Double temperature,
    JsonNode outputSchema,
    Duration timeout,
    List<ToolSpec> tools,
    DeltaSink deltas,
    String runId,
    String nodeId,
    RouteDefinition pinnedRoute,
    String traceparent) {

  public LlmRequest {
    if (idempotencyKey != null && idempotencyKey.isBlank()) {
      throw new IllegalArgumentException("an idempotency key must not be blank");
    }
    if (maxTokens <= 0) throw new IllegalArgumentException("max-tokens must be > 0, was " + maxTokens);
    messages = List.copyOf(messages);
    tools = tools == null ? List.of() : List.copyOf(tools);
  }

  /** A call with no route pinned: the port's route as it is when the call is made. */
  public LlmRequest(String idempotencyKey, String tenantId, String route, String model, List<ChatMessage> messages,
      int maxTokens, Double temperature, JsonNode outputSchema, Duration timeout, List<ToolSpec> tools,
      DeltaSink deltas, String runId, String nodeId) {
    this(idempotencyKey, tenantId, route, model, messages, maxTokens, temperature, outputSchema, timeout, tools,
        deltas, runId, nodeId, null, null);
  }

  public LlmRequest(String idempotencyKey, String tenantId, String route, String model, List<ChatMessage> messages,
      int maxTokens, Double temperature, JsonNode outputSchema, Duration timeout) {
    this(idempotencyKey, tenantId, route, model, messages, maxTokens, temperature, outputSchema, timeout, List.of(),
        null);
  }

  /** A call that is not a run's step (the gateway's). */
  public LlmRequest(String idempotencyKey, String tenantId, String route, String model, List<ChatMessage> messages,
      int maxTokens, Double temperature, JsonNode outputSchema, Duration timeout, List<ToolSpec> tools,
      DeltaSink deltas) {
    this(idempotencyKey, tenantId, route, model, messages, maxTokens, temperature, outputSchema, timeout, tools,
        deltas, null, null);
  }

  /** The same request with another deadline (a caller retrying within what is left of its own). */
  public LlmRequest withTimeout(Duration remaining) {
    return new LlmRequest(idempotencyKey, tenantId, route, model, messages, maxTokens, temperature, outputSchema,
        remaining, tools, deltas, runId, nodeId, pinnedRoute, traceparent);
  }

  /** The same request, served over the route as a run recorded it. */
  public LlmRequest withPinnedRoute(RouteDefinition pinned) {
    return new LlmRequest(idempotencyKey, tenantId, route, model, messages, maxTokens, temperature, outputSchema,
        timeout, tools, deltas, runId, nodeId, pinned, traceparent);
  }

  /** The same request, its spans children of the span {@code parent} names. */
  public LlmRequest withTraceparent(String parent) {
    return new LlmRequest(idempotencyKey, tenantId, route, model, messages, maxTokens, temperature, outputSchema,
        timeout, tools, deltas, runId, nodeId, pinnedRoute, parent);
  }

  public boolean streaming() {
    return deltas != null;
  }

  /** The whole prompt as one text, for adapters and estimates that need it so. */
  public String promptText() {
    var sb = new StringBuilder();
    for (ChatMessage m : messages) {
      if (m.content() == null) continue; // an assistant turn that only called tools
      if (sb.length() > 0) sb.append('\n');
      sb.append(m.content());
    }
    return sb.toString();
  }
}
