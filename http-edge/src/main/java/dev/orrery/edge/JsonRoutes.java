package dev.orrery.edge;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.ErrorCode;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/** What every JSON resource of {@code /api/v1} does the same way: bodies in, JSON out, failures enveloped. */
public final class JsonRoutes {
  private final ObjectMapper json;
  private final ErrorEnvelope errors;
  private final long maxBodyBytes;

  public JsonRoutes(ObjectMapper json, long maxBodyBytes) {
    this.json = json;
    this.errors = new ErrorEnvelope(json);
    this.maxBodyBytes = maxBodyBytes;
  }

  public ObjectMapper json() {
    return json;
  }

  public ErrorEnvelope errors() {
    return errors;
  }

  /** The body as text, refused with 413 above the configured size. */
  public Route withBody(Function<String, Route> inner) {
    return withSizeLimit(maxBodyBytes, () -> entity(Unmarshaller.entityToString(), inner));
  }

  /** A JSON object body; an empty body reads as an empty object. */
  public JsonNode readObject(String body) {
    if (body == null || body.isBlank()) return json.createObjectNode();
    JsonNode tree;
    try {
      tree = json.readTree(body);
    } catch (JsonProcessingException e) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "request body is not valid JSON: " + e.getOriginalMessage());
    }
    if (tree == null || !tree.isObject()) throw new ApiError(ErrorCode.INVALID_REQUEST, "request body must be a JSON object");
    return tree;
  }

  public HttpResponse ok(StatusCode status, Object body) {
    try {
      return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, json.writeValueAsBytes(body));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a response body is always serializable", e);
    }
  }

  /** Completes with a handler's answer, {@link #guarded}. */
  public Route answer(Supplier<CompletionStage<HttpResponse>> handler) {
    return completeWithFuture(guarded(handler));
  }

  /** Runs a handler so that what it throws, and what its future fails with, ends in the envelope. */
  public CompletionStage<HttpResponse> guarded(Supplier<CompletionStage<HttpResponse>> handler) {
    CompletionStage<HttpResponse> response;
    try {
      response = handler.get();
    } catch (RuntimeException e) {
      response = CompletableFuture.failedFuture(e);
    }
    return response.exceptionally(errors::fromThrowable);
  }
}
