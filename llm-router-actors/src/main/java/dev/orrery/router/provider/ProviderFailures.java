package dev.orrery.router.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.router.provider.ProviderException.Kind;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.stream.BufferOverflowException;
import org.apache.pekko.stream.scaladsl.TcpIdleTimeoutException;

/**
 * How a provider's failure becomes a {@link ProviderException}: one place for every adapter, so the
 * router sees the same {@link Kind} for the same fault whichever wire protocol produced it.
 */
public final class ProviderFailures {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_MESSAGE_CHARS = 500;

  private ProviderFailures() {}

  /**
   * A non-2xx answer: 429 is {@code RATE_LIMITED} (with its wait), 5xx {@code SERVER_ERROR}, any other
   * status {@code CLIENT_ERROR}; the message is the provider's own, read from the body.
   *
   * @param retryAfterMs OpenAI's {@code retry-after-ms} header, or null
   * @param retryAfter the {@code Retry-After} header (seconds or an HTTP-date), or null
   * @param body the error body as far as it was read, or null
   */
  public static ProviderException forStatus(
      String provider, int status, String retryAfterMs, String retryAfter, String body, Clock clock) {
    Duration wait = retryAfter(retryAfterMs, retryAfter, clock);
    String message = "HTTP " + status + ": " + errorMessage(body)
        + (wait == null ? "" : " (retry after " + wait.toMillis() + " ms)");
    Kind kind;
    if (status == 429) {
      kind = Kind.RATE_LIMITED;
    } else if (status >= 500 && status <= 599 || status == 408 || status == 409) {
      // A 503's or Anthropic 529's Retry-After is kept too; 408 and 409 are transient on provider APIs.
      kind = Kind.SERVER_ERROR;
    } else if (status == 401 || status == 403 || status == 404) {
      kind = Kind.REFUSED;
    } else {
      kind = Kind.CLIENT_ERROR; // 4xx, and 1xx/3xx, which no provider API answers on purpose
    }
    return new ProviderException(provider, kind, status, wait, message, null);
  }

  /**
   * The wait a provider asked for: {@code retry-after-ms} (OpenAI, milliseconds) wins over
   * {@code Retry-After}, which is either delta-seconds or an HTTP-date (RFC 1123) measured against
   * {@code clock}. Null when neither header is present or readable; never negative.
   */
  public static Duration retryAfter(String retryAfterMs, String retryAfter, Clock clock) {
    Double ms = nonNegativeNumber(retryAfterMs);
    if (ms != null) return Duration.ofMillis((long) Math.ceil(ms));
    if (retryAfter == null || retryAfter.isBlank()) return null;
    Double seconds = nonNegativeNumber(retryAfter);
    if (seconds != null) return Duration.ofMillis((long) Math.ceil(seconds * 1000));
    try {
      ZonedDateTime at = ZonedDateTime.parse(retryAfter.trim(), DateTimeFormatter.RFC_1123_DATE_TIME);
      Duration wait = Duration.between(clock.instant(), at.toInstant());
      return wait.isNegative() ? Duration.ZERO : wait;
    } catch (DateTimeParseException e) {
      return null; // a header we cannot read is no instruction; the router falls back to its own backoff
    }
  }

  /**
   * The provider's error message from an error body: {@code error.message} (OpenAI, Anthropic, vLLM),
   * {@code error} as a string (Ollama), {@code message} or {@code detail} (other servers), else the body
   * itself, shortened.
   */
  public static String errorMessage(String body) {
    if (body == null || body.isBlank()) return "(no body)";
    try {
      JsonNode json = JSON.readTree(body);
      if (json != null && json.isObject()) {
        JsonNode error = json.path("error");
        if (error.path("message").isTextual()) return shorten(error.path("message").asText());
        if (error.isTextual()) return shorten(error.asText());
        if (json.path("message").isTextual()) return shorten(json.path("message").asText());
        if (json.path("detail").isTextual()) return shorten(json.path("detail").asText());
      }
    } catch (IOException notJson) {
      // fall through: an HTML page from a proxy, say; show its start
    }
    return shorten(body.strip());
  }

  /** An error a provider reported inside a 200 answer or a stream (Anthropic's {@code error} event). */
  public static ProviderException errorEvent(String provider, String type, String message) {
    Kind kind;
    int status;
    if ("rate_limit_error".equals(type) || "rate_limit_exceeded".equals(type)) {
      kind = Kind.RATE_LIMITED;
      status = 429;
    } else if ("invalid_request_error".equals(type)) {
      kind = Kind.CLIENT_ERROR;
      status = 400;
    } else {
      // overloaded_error, api_error and whatever comes next: the provider's side, worth another try
      kind = Kind.SERVER_ERROR;
      status = 0;
    }
    return new ProviderException(provider, kind, status, null,
        "error in the answer" + (type == null ? "" : " (" + type + ")") + ": " + shorten(String.valueOf(message)),
        null);
  }

  /** A failure before any response arrived. */
  public static ProviderException beforeResponse(String provider, Throwable failure) {
    Throwable t = unwrap(failure);
    if (t instanceof ProviderException) return (ProviderException) t;
    if (t instanceof TcpIdleTimeoutException || t instanceof TimeoutException) {
      return new ProviderException(provider, Kind.TIMEOUT, 0, null, "no answer: " + t.getMessage(), t);
    }
    if (t instanceof BufferOverflowException) {
      // Our own pool is full (max-open-requests): the provider was not called at all.
      return new ProviderException(provider, Kind.UNAVAILABLE, 0, null, "HTTP client pool full: " + t.getMessage(), t);
    }
    // Refused, reset, closed, DNS, TLS: whatever else stops a request before its answer is a connection fault.
    return new ProviderException(provider, Kind.CONNECTION, 0, null, "connection failed: " + describe(t), t);
  }

  /** The whole exchange, stream included, outlived the attempt's timeout. */
  public static ProviderException timeout(String provider, Duration timeout) {
    return new ProviderException(provider, Kind.TIMEOUT, 0, null,
        "no complete answer within " + timeout.toMillis() + " ms", null);
  }

  /** A stream that failed or ended before its end marker: never a truncated success. */
  public static ProviderException streamInterrupted(String provider, String detail, Throwable cause) {
    return new ProviderException(provider, Kind.STREAM_INTERRUPTED, 200, null, detail, cause);
  }

  /** A 200 whose body is not the protocol's JSON. */
  public static ProviderException malformed(String provider, String detail, Throwable cause) {
    return new ProviderException(provider, Kind.MALFORMED_RESPONSE, 200, null,
        "malformed response from provider '" + provider + "': " + detail, cause);
  }

  /** The failure behind the wrappers futures put around it. */
  static Throwable unwrap(Throwable t) {
    Throwable current = t;
    while ((current instanceof CompletionException || current instanceof ExecutionException)
        && current.getCause() != null) {
      current = current.getCause();
    }
    return current;
  }

  static String describe(Throwable t) {
    String message = t.getMessage();
    return t.getClass().getSimpleName() + (message == null ? "" : ": " + shorten(message));
  }

  private static Double nonNegativeNumber(String text) {
    if (text == null || text.isBlank()) return null;
    try {
      double v = Double.parseDouble(text.trim());
      return Double.isFinite(v) && v >= 0 ? v : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static String shorten(String s) {
    return s.length() <= MAX_MESSAGE_CHARS ? s : s.substring(0, MAX_MESSAGE_CHARS) + "…";
  }
}
