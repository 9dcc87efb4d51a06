package dev.orrery.edge;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.ErrorCode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.MethodRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.UnsupportedRequestContentTypeRejection;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.pattern.StatusReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one shape of every failure: {@code {"error": {"code", "message", "details"}}} with the status the
 * edge contract gives its code. Unexpected exceptions become {@code INTERNAL} with no stack trace; they
 * are logged here, once.
 */
public final class ErrorEnvelope {
  private static final Logger log = LoggerFactory.getLogger(ErrorEnvelope.class);

  private final ObjectMapper json;

  public ErrorEnvelope(ObjectMapper json) {
    this.json = json;
  }

  public static StatusCode statusOf(ErrorCode code) {
    switch (code) {
      case INVALID_REQUEST:
        return StatusCodes.BAD_REQUEST;
      case UNAUTHENTICATED:
        return StatusCodes.UNAUTHORIZED;
      case FORBIDDEN:
        return StatusCodes.FORBIDDEN;
      case NOT_FOUND:
        return StatusCodes.NOT_FOUND;
      case CONFLICT:
        return StatusCodes.CONFLICT;
      case PAYLOAD_TOO_LARGE:
        return StatusCodes.PAYLOAD_TOO_LARGE;
      case BUDGET_EXCEEDED:
        return StatusCodes.PAYMENT_REQUIRED;
      case RATE_LIMIT_EXCEEDED:
        return StatusCodes.TOO_MANY_REQUESTS;
      case PROVIDER_UNAVAILABLE:
        return StatusCodes.SERVICE_UNAVAILABLE;
      case TIMEOUT:
        return StatusCodes.GATEWAY_TIMEOUT;
      default:
        return StatusCodes.INTERNAL_SERVER_ERROR;
    }
  }

  public HttpResponse response(ErrorCode code, String message, Object details) {
    var error = new LinkedHashMap<String, Object>();
    error.put("code", code.name());
    error.put("message", message);
    error.put("details", details == null ? Map.of() : details);
    Object retryAfter = details instanceof Map<?, ?> m && m.get("retry_after") != null ? m.get("retry_after") : 1;
    if (code == ErrorCode.RATE_LIMIT_EXCEEDED) error.put("retry_after", retryAfter);
    byte[] body;
    try {
      body = json.writeValueAsBytes(Map.of("error", error));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("an error envelope is always serializable", e);
    }
    HttpResponse response = HttpResponse.create().withStatus(statusOf(code))
        .withEntity(ContentTypes.APPLICATION_JSON, body);
    // Every 401 names the scheme it wants (RFC 7235); every 429 says when to come back.
    if (code == ErrorCode.UNAUTHENTICATED) return response.addHeader(RawHeader.create("WWW-Authenticate", "Bearer"));
    if (code != ErrorCode.RATE_LIMIT_EXCEEDED) return response;
    return response.addHeader(RawHeader.create("Retry-After", retryAfter.toString()));
  }

  public HttpResponse response(ApiError e) {
    return response(e.code(), e.getMessage(), e.details());
  }

  /** Maps what a failed future or a route threw to the envelope. */
  public HttpResponse fromThrowable(Throwable failure) {
    Throwable t = failure;
    while ((t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof ApiError e) return response(e);
    if (t instanceof StatusReply.ErrorMessage e) return fromRejection(e.getMessage());
    if (t instanceof TimeoutException) {
      return response(ErrorCode.TIMEOUT, "the request timed out inside the node; it may still complete", null);
    }
    if (t instanceof EntityStreamSizeException e) {
      return response(ErrorCode.PAYLOAD_TOO_LARGE,
          "request body exceeds the limit of " + e.limit() + " bytes", Map.of("limit_bytes", e.limit()));
    }
    log.error("unexpected failure at the edge", t);
    return response(ErrorCode.INTERNAL, "internal error", null);
  }

  /** An entity's {@code StatusReply.error("CODE: message")}. */
  public HttpResponse fromRejection(String rejection) {
    ErrorCode code = ErrorCode.codeOf(rejection).orElse(ErrorCode.INTERNAL);
    return response(code, ErrorCode.messageOf(rejection), null);
  }

  public ExceptionHandler exceptionHandler() {
    return ExceptionHandler.newBuilder().match(Throwable.class, t -> complete(fromThrowable(t))).build();
  }

  /** Pekko's own rejections (unknown path, wrong method, unreadable body) in our envelope. */
  public RejectionHandler rejectionHandler() {
    return RejectionHandler.newBuilder()
        .handle(MalformedRequestContentRejection.class, r -> complete(fromThrowable(r.getCause())))
        .handle(UnsupportedRequestContentTypeRejection.class, r -> complete(response(ErrorCode.INVALID_REQUEST,
            "unsupported content type; use application/json or application/yaml", null)))
        .handleAll(MethodRejection.class, rs -> complete(response(ErrorCode.NOT_FOUND,
            "no such route for this method", Map.of("allowed", rs.stream().map(r -> r.supported().name()).toList()))))
        .handleNotFound(complete(response(ErrorCode.NOT_FOUND, "no such route", null)))
        .build()
        .withFallback(RejectionHandler.defaultHandler())
        .mapRejectionResponse(this::envelopeOf);
  }

  private static org.apache.pekko.http.javadsl.server.Route complete(HttpResponse response) {
    return org.apache.pekko.http.javadsl.server.Directives.complete(response);
  }

  /** Pekko's default rejection answers are plain text; give them our shape. */
  private HttpResponse envelopeOf(HttpResponse response) {
    if (response.entity().getContentType().equals(ContentTypes.APPLICATION_JSON)) return response;
    ErrorCode code = response.status().intValue() >= 500 ? ErrorCode.INTERNAL
        : response.status().intValue() == 413 ? ErrorCode.PAYLOAD_TOO_LARGE
        : response.status().intValue() == 404 ? ErrorCode.NOT_FOUND
        : ErrorCode.INVALID_REQUEST;
    return response(code, response.status().reason(), null).withStatus(response.status());
  }
}
