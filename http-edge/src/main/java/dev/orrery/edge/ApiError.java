package dev.orrery.edge;

import dev.orrery.core.ErrorCode;

/**
 * A failure a route decided on, with the code and message the client sees. Routes throw it; the
 * edge's exception handler turns it into the error envelope.
 */
public final class ApiError extends RuntimeException {
  private final ErrorCode code;
  private final transient Object details;

  public ApiError(ErrorCode code, String message, Object details) {
    super(message, null, false, false);
    this.code = code;
    this.details = details;
  }

  public ApiError(ErrorCode code, String message) {
    this(code, message, null);
  }

  public ErrorCode code() {
    return code;
  }

  public Object details() {
    return details;
  }
}
