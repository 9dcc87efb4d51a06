package dev.orrery.router.provider;

import java.time.Duration;

/**
 * A provider's failure, classified so the router can decide: retry here, move to the next provider, or
 * give up. The message names the provider.
 */
public final class ProviderException extends RuntimeException {

  public enum Kind {
    /** 429: slow down; {@link #retryAfter()} says for how long when the provider said so. */
    RATE_LIMITED(true),
    /** 5xx. */
    SERVER_ERROR(true),
    /** No answer within the attempt's timeout. */
    TIMEOUT(true),
    /** Connection refused, reset or closed before an answer. */
    CONNECTION(true),
    /** A stream that ended before its end marker: never a truncated success. */
    STREAM_INTERRUPTED(true),
    /** A body that is not the protocol's JSON. */
    MALFORMED_RESPONSE(true),
    /** 400, 413, 422 and the like: the request itself is wrong; no provider will take it. */
    CLIENT_ERROR(false),
    /**
     * 401, 403, 404: this endpoint will not serve us (a revoked key, a model it lacks). Not the request's
     * fault: the router moves to the next provider, and the breaker counts it against this one.
     */
    REFUSED(false),
    /** The circuit breaker is open or a bucket is empty: this provider is not tried now. */
    UNAVAILABLE(true);

    private final boolean retryable;

    Kind(boolean retryable) {
      this.retryable = retryable;
    }

    public boolean retryable() {
      return retryable;
    }
  }

  private final String provider;
  private final Kind kind;
  private final int httpStatus;
  private final Duration retryAfter;

  public ProviderException(String provider, Kind kind, int httpStatus, Duration retryAfter, String message,
      Throwable cause) {
    super(provider + ": " + message, cause, false, false);
    this.provider = provider;
    this.kind = kind;
    this.httpStatus = httpStatus;
    this.retryAfter = retryAfter;
  }

  public ProviderException(String provider, Kind kind, int httpStatus, String message) {
    this(provider, kind, httpStatus, null, message, null);
  }

  public String provider() {
    return provider;
  }

  public Kind kind() {
    return kind;
  }

  /** The HTTP status, or 0 when there was none (timeouts, connection failures). */
  public int httpStatus() {
    return httpStatus;
  }

  /** How long the provider asked us to wait (a 429's Retry-After), or null. */
  public Duration retryAfter() {
    return retryAfter;
  }

  public boolean retryable() {
    return kind.retryable();
  }
}
