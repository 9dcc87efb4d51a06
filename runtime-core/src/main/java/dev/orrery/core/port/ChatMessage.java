package dev.orrery.core.port;

/** One message of a chat-shaped LLM request; {@code role} is {@code system}, {@code user} or {@code assistant}. */
public record ChatMessage(String role, String content) {
  public static ChatMessage system(String content) {
    return new ChatMessage("system", content);
  }

  public static ChatMessage user(String content) {
    return new ChatMessage("user", content);
  }
}
