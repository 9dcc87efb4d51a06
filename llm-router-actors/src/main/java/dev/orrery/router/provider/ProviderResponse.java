package dev.orrery.router.provider;

import dev.orrery.core.port.ToolCall;
import java.util.List;

/** A provider's answer: text (null when it only called tools), tool calls, token counts as it reported them. */
public record ProviderResponse(
    String text, List<ToolCall> toolCalls, long tokensIn, long tokensOut, String model, String finishReason) {
  public ProviderResponse {
    toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
  }
}
