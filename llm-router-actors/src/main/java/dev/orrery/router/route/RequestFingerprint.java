package dev.orrery.router.route;

import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.ToolCall;
import dev.orrery.core.port.ToolSpec;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A SHA-256 of what determines a request's answer: route, pinned model, messages, limits, output schema
 * and tools (and the temperature, for idempotency). Each field is length-prefixed, so no two different
 * requests print the same text.
 */
final class RequestFingerprint {
  private RequestFingerprint() {}

  /** For the response cache: temperature is left out, since only temperature-0 calls are cached. */
  static String ofContent(LlmRequest r) {
    return hash(content(r));
  }

  /** For idempotency: a reused key must come with the same request. */
  static String ofRequest(LlmRequest r) {
    StringBuilder sb = content(r);
    field(sb, String.valueOf(r.temperature()));
    return hash(sb);
  }

  private static StringBuilder content(LlmRequest r) {
    var sb = new StringBuilder();
    field(sb, r.route());
    field(sb, r.model());
    field(sb, Integer.toString(r.maxTokens()));
    field(sb, r.outputSchema() == null ? null : r.outputSchema().toString());
    field(sb, Integer.toString(r.messages().size()));
    for (ChatMessage m : r.messages()) {
      field(sb, m.role());
      field(sb, m.content());
      // Only messages of a tool conversation add fields, so a plain request's fingerprint is unchanged.
      for (ToolCall call : m.toolCalls()) {
        field(sb, call.id());
        field(sb, call.name());
        field(sb, call.arguments());
      }
      if (m.toolCallId() != null) field(sb, "tool_call_id=" + m.toolCallId());
    }
    field(sb, Integer.toString(r.tools().size()));
    for (ToolSpec t : r.tools()) {
      field(sb, t.name());
      field(sb, t.description());
      field(sb, t.parameters() == null ? null : t.parameters().toString());
    }
    return sb;
  }

  private static void field(StringBuilder sb, String value) {
    if (value == null) {
      sb.append("-1:");
    } else {
      sb.append(value.length()).append(':').append(value);
    }
  }

  private static String hash(CharSequence text) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(sha.digest(text.toString().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
