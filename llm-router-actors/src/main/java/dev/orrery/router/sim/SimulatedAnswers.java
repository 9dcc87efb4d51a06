package dev.orrery.router.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.port.ChatMessage;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What the simulated provider ({@link SimulatedAdapter}) answers, as pure functions of the request: the
 * same prompt always gets the same text, tokens and, for an output schema, the same conforming value.
 */
final class SimulatedAnswers {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final String[] WORDS = {
    "the", "run", "shows", "a", "clear", "result", "with", "steady", "signal", "and", "some", "notable",
    "detail", "worth", "reviewing", "in", "context", "of", "the", "request", "overall", "positive", "trend"
  };

  private SimulatedAnswers() {}

  /** The answer's text: a value of the output schema when there is one, else a short prose echo. */
  static String text(List<ChatMessage> messages, JsonNode outputSchema, int maxTokens) {
    long promptHash = fnv1a(promptText(messages));
    if (outputSchema != null) {
      try {
        return JSON.writeValueAsString(SchemaSampler.sample(outputSchema, promptHash));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException("a sampled value is always serializable", e);
      }
    }
    String userTurn = messages.isEmpty() ? "" : messages.get(messages.size() - 1).content();
    return prose(userTurn == null ? "" : userTurn, promptHash, maxTokens);
  }

  /** Whether the draw {@code key} fails at {@code failureRate}: a pure function of seed and key. */
  static boolean fails(double failureRate, long seed, long key) {
    if (failureRate <= 0.0) return false;
    return new SplittableRandom(seed ^ key).nextDouble() < failureRate;
  }

  static String promptText(List<ChatMessage> messages) {
    var sb = new StringBuilder();
    for (ChatMessage m : messages) {
      if (m.content() == null) continue; // an assistant turn that only called tools
      if (sb.length() > 0) sb.append('\n');
      sb.append(m.content());
    }
    return sb.toString();
  }

  /** A short, readable answer: an echo of the last turn's start, then words chosen by the prompt's hash. */
  private static String prose(String prompt, long hash, int maxTokens) {
    var random = new SplittableRandom(hash);
    String head = prompt.strip().replaceAll("\\s+", " ");
    if (head.length() > 48) head = head.substring(0, 48) + "…";
    var sb = new StringBuilder("Simulated answer to \"").append(head).append("\":");
    int words = 8 + random.nextInt(17);
    for (int i = 0; i < words; i++) {
      sb.append(' ').append(WORDS[random.nextInt(WORDS.length)]);
    }
    sb.append('.');
    int maxChars = Math.max(1, maxTokens) * 4;
    return sb.length() > maxChars ? sb.substring(0, maxChars) : sb.toString();
  }

  /** About four characters a token, as for English text with common tokenizers. */
  static long tokens(String text) {
    return Math.max(1, (text.getBytes(StandardCharsets.UTF_8).length + 3) / 4);
  }

  static long fnv1a(String s) {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < s.length(); i++) {
      h ^= s.charAt(i);
      h *= 0x100000001b3L;
    }
    return h;
  }
}
