package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;

/**
 * A request that did not succeed: the node refused it (4xx) or failed (5xx), with the code and message of
 * its error envelope, or it never reached the node (status 0).
 */
public final class ApiException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String code;
  private final transient JsonNode envelope;

  ApiException(int status, String code, String message, JsonNode envelope) {
    super(message);
    this.status = status;
    this.code = code;
    this.envelope = envelope;
  }

  static ApiException unreachable(String url, Throwable cause) {
    String why = cause instanceof HttpConnectTimeoutException ? "connecting timed out"
        : cause instanceof HttpTimeoutException ? "no answer in time"
        : cause instanceof ConnectException ? "connection refused"
        : cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
    ApiException e = new ApiException(0, "UNREACHABLE", "cannot reach " + url + ": " + why, null);
    e.initCause(cause);
    return e;
  }

  /** The HTTP status, or 0 when there was no answer. */
  public int status() {
    return status;
  }

  /** The envelope's {@code error.code}, or a stand-in when the answer had none. */
  public String code() {
    return code;
  }

  /** The server's error envelope, or null when there was none. */
  public JsonNode envelope() {
    return envelope;
  }

  /** A 4xx: asking again the same way will not help. */
  public boolean refused() {
    return status >= 400 && status < 500;
  }

  public int exitCode() {
    return refused() ? ExitCodes.REFUSED : ExitCodes.UNAVAILABLE;
  }
}
