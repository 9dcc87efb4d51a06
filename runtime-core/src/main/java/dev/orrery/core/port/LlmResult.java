package dev.orrery.core.port;

import java.util.List;

/**
 * What an LLM call produced: the text (null when the model only called tools), the tool calls it asked
 * for, its usage, and which provider and model served it (and which were tried, in order, the last
 * being the one that served), so the run's events record exactly what produced each output.
 */
public record LlmResult(
    String text, Usage usage, String provider, String model, List<String> tried, List<ToolCall> toolCalls) {
  public LlmResult {
    tried = List.copyOf(tried);
    toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
  }

  public LlmResult(String text, Usage usage, String provider, String model, List<String> tried) {
    this(text, usage, provider, model, tried, List.of());
  }
}
