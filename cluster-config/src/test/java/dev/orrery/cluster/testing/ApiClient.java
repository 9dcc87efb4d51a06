package dev.orrery.cluster.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/**
 * A real HTTP client on loopback, as a user's script would call the node, presenting one credential
 * ({@code Authorization: Bearer …}) on every request, or none.
 */
public final class ApiClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  public record Response(int status, JsonNode body, HttpResponse<String> raw) {
    public String header(String name) {
      return raw.headers().firstValue(name).orElse(null);
    }

    public String errorCode() {
      return body.path("error").path("code").asText(null);
    }
  }

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private final String baseUrl;
  private final String bearer;

  public ApiClient(String baseUrl, String bearer) {
    this.baseUrl = baseUrl;
    this.bearer = bearer;
  }

  /** The same node with another credential (an API key or a token), or none for null. */
  public ApiClient as(String otherBearer) {
    return new ApiClient(baseUrl, otherBearer);
  }

  public String baseUrl() {
    return baseUrl;
  }

  public String bearer() {
    return bearer;
  }

  public Response get(String path) {
    return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).GET());
  }

  public Response delete(String path) {
    return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).DELETE());
  }

  /** Any method, any headers: for walking every route. */
  public Response request(String method, String path, String jsonBody, Map<String, String> headers) {
    var builder = HttpRequest.newBuilder(URI.create(baseUrl + path)).method(method,
        jsonBody == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(jsonBody));
    if (jsonBody != null) builder.header("Content-Type", "application/json");
    headers.forEach(builder::header);
    return send(builder);
  }

  public Response post(String path, String body, String contentType, Map<String, String> headers) {
    var builder = HttpRequest.newBuilder(URI.create(baseUrl + path))
        .header("Content-Type", contentType)
        .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(builder::header);
    return send(builder);
  }

  public Response postJson(String path, Object body) {
    try {
      String text = body instanceof String s ? s : JSON.writeValueAsString(body);
      return post(path, text, "application/json", Map.of());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public Response postJson(String path, Object body, Map<String, String> headers) {
    try {
      String text = body instanceof String s ? s : JSON.writeValueAsString(body);
      return post(path, text, "application/json", headers);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Response send(HttpRequest.Builder builder) {
    try {
      if (bearer != null) builder.header("Authorization", "Bearer " + bearer);
      HttpResponse<String> raw = HTTP.send(builder.timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      boolean isJson = raw.headers().firstValue("Content-Type").orElse("").startsWith("application/json");
      JsonNode body = raw.body().isEmpty() ? JSON.nullNode()
          : isJson ? JSON.readTree(raw.body()) : JSON.getNodeFactory().textNode(raw.body());
      return new Response(raw.statusCode(), body, raw);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public static ObjectMapper json() {
    return JSON;
  }
}
