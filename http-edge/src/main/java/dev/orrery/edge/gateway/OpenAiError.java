package dev.orrery.edge.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/**
 * A failure in OpenAI's error shape, {@code {"error": {"message", "type", "param", "code"}}}, which the
 * official SDKs parse into their exception types. Only the gateway's routes answer with it.
 */
final class OpenAiError extends RuntimeException {
  private final int status;
  private final String type;
  private final String param;
  private final String code;

  OpenAiError(int status, String type, String code, String param, String message) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
  }

  static OpenAiError invalid(String param, String message) {
    return new OpenAiError(400, "invalid_request_error", "invalid_request", param, message);
  }

  /** From a step-failure code of the port ({@code PROVIDER_UNAVAILABLE}, {@code TIMEOUT} …). */
  static OpenAiError fromCode(String orreryCode, String message) {
    switch (orreryCode == null ? "" : orreryCode) {
      case "UNAUTHENTICATED":
        return new OpenAiError(401, "invalid_request_error", "invalid_api_key", null, message);
      case "FORBIDDEN":
        return new OpenAiError(403, "permission_error", "forbidden", null, message);
      case "INVALID_REQUEST":
        return new OpenAiError(400, "invalid_request_error", "invalid_request", null, message);
      case "NOT_FOUND":
        return new OpenAiError(404, "invalid_request_error", "model_not_found", "model", message);
      case "RATE_LIMIT_EXCEEDED":
        return new OpenAiError(429, "rate_limit_error", "rate_limit_exceeded", null, message);
      case "BUDGET_EXCEEDED":
        return new OpenAiError(402, "insufficient_quota", "insufficient_quota", null, message);
      case "TIMEOUT":
        return new OpenAiError(504, "timeout_error", "timeout", null, message);
      case "PROVIDER_UNAVAILABLE":
        return new OpenAiError(503, "server_error", "provider_unavailable", null, message);
      default:
        return new OpenAiError(500, "server_error", "internal_error", null, message);
    }
  }

  HttpResponse toResponse(ObjectMapper json) {
    var error = new LinkedHashMap<String, Object>();
    error.put("message", getMessage());
    error.put("type", type);
    error.put("param", param);
    error.put("code", code);
    try {
      return HttpResponse.create().withStatus(StatusCodes.get(status))
          .withEntity(ContentTypes.APPLICATION_JSON, json.writeValueAsBytes(Map.of("error", error)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("an error body is always serializable", e);
    }
  }
}
