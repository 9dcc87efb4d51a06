package dev.orrery.router.fake;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.port.ToolCall;
import java.io.IOException;
import java.util.List;

/**
 * A scripted answer for {@link FakeProviderServer}: text, tool calls, or both, given in either wire
 * protocol's shape. Agent tests script a conversation with these ("call the search tool", then "here
 * is the answer").
 *
 * @param text the answer's text, or null for an answer that only calls tools
 * @param toolCalls the tool calls; each one's arguments must be a JSON object (Anthropic sends them as one)
 */
public record CannedAnswer(String text, List<ToolCall> toolCalls) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public CannedAnswer {
    toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    if (text == null && toolCalls.isEmpty()) {
      throw new IllegalArgumentException("a canned answer needs text or tool calls");
    }
    for (ToolCall call : toolCalls) {
      try {
        if (call.arguments() == null || !JSON.readTree(call.arguments()).isObject()) {
          throw new IOException("not a JSON object");
        }
      } catch (IOException e) {
        throw new IllegalArgumentException("tool call " + call.id() + " needs a JSON object as arguments, was "
            + call.arguments(), e);
      }
    }
  }

  public static CannedAnswer text(String text) {
    return new CannedAnswer(text, List.of());
  }

  public static CannedAnswer toolCalls(ToolCall... calls) {
    return new CannedAnswer(null, List.of(calls));
  }
}
