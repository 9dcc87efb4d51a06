package dev.orrery.core.port;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Token counts known before a call: about four bytes a token, as for English text with common
 * tokenizers. Used to reserve from the tokens-per-minute bucket (corrected by the reported usage after
 * the call) and by the cost-aware policies, and by budgets to reserve before a call; never billed.
 */
public final class TokenEstimate {
  private TokenEstimate() {}

  public static long promptTokens(List<ChatMessage> messages) {
    long bytes = 0;
    for (ChatMessage m : messages) {
      bytes += m.content() == null ? 0 : m.content().getBytes(StandardCharsets.UTF_8).length;
      for (ToolCall call : m.toolCalls()) {
        bytes += call.name().length() + (call.arguments() == null ? 0 : call.arguments().length());
      }
    }
    return Math.max(1, (bytes + 3) / 4);
  }

  /** The most a call can use: its prompt plus its {@code max_tokens}. */
  public static long callTokens(List<ChatMessage> messages, int maxTokens) {
    return promptTokens(messages) + maxTokens;
  }
}
