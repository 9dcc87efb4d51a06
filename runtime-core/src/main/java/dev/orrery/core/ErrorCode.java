package dev.orrery.core;

import java.util.Optional;

/**
 * The error vocabulary of the edge contract. Entities reject a command with
 * {@code StatusReply.error(code.reject(message))}: the text {@code "CODE: message"} survives being sent
 * between nodes as a plain string, and the edge maps the code back to an HTTP status.
 */
public enum ErrorCode {
  INVALID_REQUEST,
  UNAUTHENTICATED,
  FORBIDDEN,
  NOT_FOUND,
  CONFLICT,
  PAYLOAD_TOO_LARGE,
  BUDGET_EXCEEDED,
  RATE_LIMIT_EXCEEDED,
  PROVIDER_UNAVAILABLE,
  TIMEOUT,
  INTERNAL;

  private static final String SEPARATOR = ": ";

  public String reject(String message) {
    return name() + SEPARATOR + message;
  }

  /** The code of a rejection made by {@link #reject}, if the text is one. */
  public static Optional<ErrorCode> codeOf(String rejection) {
    int at = rejection == null ? -1 : rejection.indexOf(SEPARATOR);
    if (at <= 0) return Optional.empty();
    try {
      return Optional.of(valueOf(rejection.substring(0, at)));
    } catch (IllegalArgumentException notACode) {
      return Optional.empty();
    }
  }

  /** The message of a rejection made by {@link #reject}, without its code. */
  public static String messageOf(String rejection) {
    return codeOf(rejection).isPresent() ? rejection.substring(rejection.indexOf(SEPARATOR) + SEPARATOR.length())
        : rejection;
  }
}
