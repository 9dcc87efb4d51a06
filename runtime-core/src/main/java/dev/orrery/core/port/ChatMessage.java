package dev.orrery.core.port;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * One message of a chat-shaped LLM request; {@code role} is {@code system}, {@code user},
 * {@code assistant} or {@code tool}. A tool-calling conversation sends the model's reply back as an
 * {@code assistant} message with its {@code toolCalls} (and possibly no text), then one {@code tool}
 * message per call with the call's id and its result, so the model sees what its tools answered.
 *
 * @param content the text; null for an assistant message that only called tools
 * @param toolCalls the tool calls an assistant message asked for; empty otherwise
 * @param toolCallId which call a {@code tool} message answers; null otherwise
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChatMessage(
    String role,
    String content,
    @JsonInclude(JsonInclude.Include.NON_EMPTY) List<ToolCall> toolCalls,
    String toolCallId) {
  public ChatMessage {
    // A tool message without its call id is let through as before (the gateway passes clients' messages on).
    toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
  }

  public ChatMessage(String role, String content) {
    this(role, content, List.of(), null);
  }

  public static ChatMessage system(String content) {
    return new ChatMessage("system", content);
  }

  public static ChatMessage user(String content) {
    return new ChatMessage("user", content);
  }

  /** The model's reply: its text (null when it only called tools) and the tools it asked for. */
  public static ChatMessage assistant(String text, List<ToolCall> toolCalls) {
    return new ChatMessage("assistant", text, toolCalls, null);
  }

  /** A tool's result, answering the call {@code callId}. */
  public static ChatMessage tool(String callId, String content) {
    return new ChatMessage("tool", content, List.of(), callId);
  }

  public boolean hasToolCalls() {
    return !toolCalls.isEmpty();
  }
}
