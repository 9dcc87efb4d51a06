package dev.orrery.router.provider;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.DeltaSink;
import dev.orrery.core.port.ToolSpec;
import java.time.Duration;
import java.util.List;

/**
 * One attempt at one provider: the model to ask, the conversation, limits, and the per-attempt timeout.
 *
 * @param outputSchema a JSON Schema for the answer (adapters pass it as the provider's structured-output
 *     option where it has one), or null
 * @param deltas the sink of a streaming call, or null for a non-streaming one
 * @param attemptKey the caller's idempotency key and this attempt's number ({@code key#n}), or null;
 *     adapters that send one upstream, and the simulated provider's failure draws, use it
 */
public record ProviderCall(
    String model,
    List<ChatMessage> messages,
    int maxTokens,
    Double temperature,
    JsonNode outputSchema,
    List<ToolSpec> tools,
    DeltaSink deltas,
    Duration timeout,
    String attemptKey) {

  public ProviderCall {
    messages = List.copyOf(messages);
    tools = tools == null ? List.of() : List.copyOf(tools);
    if (maxTokens <= 0) throw new IllegalArgumentException("max-tokens must be > 0, was " + maxTokens);
    if (timeout == null || timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be > 0, was " + timeout);
    }
  }

  public ProviderCall(String model, List<ChatMessage> messages, int maxTokens, Double temperature,
      JsonNode outputSchema, List<ToolSpec> tools, DeltaSink deltas, Duration timeout) {
    this(model, messages, maxTokens, temperature, outputSchema, tools, deltas, timeout, null);
  }

  /** The same call as another attempt: its own timeout, sink and key. */
  public ProviderCall forAttempt(DeltaSink sink, Duration attemptTimeout, int attempt) {
    return new ProviderCall(model, messages, maxTokens, temperature, outputSchema, tools, sink, attemptTimeout,
        attemptKey == null ? null : attemptKey + "#" + attempt);
  }

  public boolean streaming() {
    return deltas != null;
  }
}
