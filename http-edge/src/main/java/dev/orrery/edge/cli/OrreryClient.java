package dev.orrery.edge.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A Java client of a node's run API ({@code /api/v1/runs…}), presenting one API key as a bearer token.
 * Answers are JSON trees as the edge contract shapes them; anything but a 2xx is an {@link ApiException}.
 * Thread-safe; it starts no actor system, only the JDK's HTTP client.
 */
public final class OrreryClient {
  public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final String baseUrl;
  private final String key;
  private final HttpClient http;

  /**
   * @param baseUrl the node, e.g. {@code http://127.0.0.1:8080}
   * @param key an API key or token of a tenant, or null to send none (the node will answer 401)
   * @throws IllegalArgumentException when the URL is not an absolute http(s) URL
   */
  public OrreryClient(String baseUrl, String key) {
    URI uri;
    try {
      uri = URI.create(baseUrl);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not a URL: '" + baseUrl + "'");
    }
    if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
      throw new IllegalArgumentException("the server URL must be http(s)://host[:port], was '" + baseUrl + "'");
    }
    this.baseUrl = baseUrl.replaceAll("/+$", "");
    this.key = key == null || key.isBlank() ? null : key.strip();
    this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).build();
  }

  public String baseUrl() {
    return baseUrl;
  }

  public static ObjectMapper json() {
    return JSON;
  }

  /** {@code POST /runs}: 201 with the new run, or 200 with the run an earlier submit of the same key made. */
  public JsonNode submit(ObjectNode body, String idempotencyKey) {
    HttpRequest.Builder request = post("/api/v1/runs", body);
    if (idempotencyKey != null) request.header("Idempotency-Key", idempotencyKey);
    return send(request);
  }

  /** {@code GET /runs/{id}}: the run's view. */
  public JsonNode run(String runId) {
    return send(get("/api/v1/runs/" + segment(runId)));
  }

  /** {@code GET /runs?status=&since=&limit=&cursor=}: one page of the tenant's runs; nulls are left out. */
  public JsonNode list(String status, Instant since, Integer limit, String cursor) {
    Map<String, String> query = new LinkedHashMap<>();
    if (status != null) query.put("status", status);
    if (since != null) query.put("since", since.toString());
    if (limit != null) query.put("limit", limit.toString());
    if (cursor != null) query.put("cursor", cursor);
    return send(get("/api/v1/runs" + query(query)));
  }

  /** {@code POST /runs/{id}/cancel}. */
  public JsonNode cancel(String runId, String reason) {
    ObjectNode body = JSON.createObjectNode();
    if (reason != null) body.put("reason", reason);
    return send(post("/api/v1/runs/" + segment(runId) + "/cancel", body));
  }

  /** {@code POST /runs/{id}/approvals/{node}}: approve or deny a waiting approval node. */
  public JsonNode decide(String runId, String nodeId, boolean approve, String comment) {
    ObjectNode body = JSON.createObjectNode().put("decision", approve ? "approve" : "deny");
    if (comment != null) body.put("comment", comment);
    return send(post("/api/v1/runs/" + segment(runId) + "/approvals/" + segment(nodeId), body));
  }

  /** {@code GET /runs/{id}/journal?from_seq=N}: the persisted events, in order. */
  public JsonNode journal(String runId, Long fromSeq) {
    String query = fromSeq == null ? "" : query(Map.of("from_seq", fromSeq.toString()));
    return send(get("/api/v1/runs/" + segment(runId) + "/journal" + query));
  }

  /** {@code POST /runs/{id}/replay}: whether today's planner decides what the journal recorded. */
  public JsonNode replay(String runId) {
    return send(post("/api/v1/runs/" + segment(runId) + "/replay", JSON.createObjectNode()));
  }

  /** {@code POST /runs/{id}/fork}: a new run from a node of this one, with overrides. */
  public JsonNode fork(String runId, ObjectNode body, String idempotencyKey) {
    HttpRequest.Builder request = post("/api/v1/runs/" + segment(runId) + "/fork", body);
    if (idempotencyKey != null) request.header("Idempotency-Key", idempotencyKey);
    return send(request);
  }

  /**
   * {@code GET /runs/{id}/events}: opens the run's Server-Sent Events stream after {@code lastSeq} (0 for
   * the whole journal). The caller reads the lines, and closes the stream to hang up.
   */
  public Stream<String> events(String runId, long lastSeq) {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri("/api/v1/runs/" + segment(runId) + "/events"))
        .header("Accept", "text/event-stream")
        .GET();
    if (lastSeq > 0) request.header("Last-Event-ID", Long.toString(lastSeq));
    authorize(request);
    HttpResponse<Stream<String>> response = exchange(request.build(), HttpResponse.BodyHandlers.ofLines());
    if (response.statusCode() / 100 == 2) return response.body();
    String body;
    try (Stream<String> lines = response.body()) {
      body = lines.collect(Collectors.joining("\n"));
    } catch (UncheckedIOException e) {
      body = "";
    }
    throw failure(response.statusCode(), body);
  }

  private HttpRequest.Builder get(String path) {
    return HttpRequest.newBuilder(uri(path)).timeout(REQUEST_TIMEOUT).GET();
  }

  private HttpRequest.Builder post(String path, JsonNode body) {
    try {
      return HttpRequest.newBuilder(uri(path)).timeout(REQUEST_TIMEOUT)
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree that does not serialize", e);
    }
  }

  private JsonNode send(HttpRequest.Builder request) {
    authorize(request);
    HttpResponse<String> response = exchange(request.build(), HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() / 100 != 2) throw failure(response.statusCode(), response.body());
    if (response.body().isBlank()) return JSON.nullNode();
    try {
      return JSON.readTree(response.body());
    } catch (JsonProcessingException e) {
      throw new ApiException(response.statusCode(), "BAD_RESPONSE",
          "the server answered " + response.statusCode() + " with a body that is not JSON: " + excerpt(response.body()),
          null);
    }
  }

  private void authorize(HttpRequest.Builder request) {
    if (key != null) request.header("Authorization", "Bearer " + key);
  }

  private <T> HttpResponse<T> exchange(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    try {
      return http.send(request, handler);
    } catch (IOException e) {
      throw ApiException.unreachable(baseUrl, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ApiException.unreachable(baseUrl, e);
    }
  }

  /** The envelope's code and message, or the status and a piece of the body when it is not an envelope. */
  static ApiException failure(int status, String body) {
    JsonNode envelope = null;
    try {
      envelope = body == null || body.isBlank() ? null : JSON.readTree(body);
    } catch (JsonProcessingException e) {
      // not JSON: described by the status below
    }
    JsonNode error = envelope == null ? null : envelope.path("error");
    if (error != null && error.hasNonNull("code")) {
      return new ApiException(status, error.get("code").asText(), error.path("message").asText(""), envelope);
    }
    String message = "the server answered HTTP " + status + (body == null || body.isBlank() ? "" : ": " + excerpt(body));
    return new ApiException(status, "HTTP_" + status, message, envelope);
  }

  private URI uri(String pathAndQuery) {
    return URI.create(baseUrl + pathAndQuery);
  }

  private static String segment(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static String query(Map<String, String> params) {
    if (params.isEmpty()) return "";
    return params.entrySet().stream()
        .map(e -> segment(e.getKey()) + "=" + segment(e.getValue()))
        .collect(Collectors.joining("&", "?", ""));
  }

  private static String excerpt(String body) {
    String flat = body.strip().replaceAll("\\s+", " ");
    return flat.length() <= 200 ? flat : flat.substring(0, 200) + "…";
  }

  static ObjectNode object() {
    return JSON.createObjectNode();
  }

  static String compact(JsonNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  static String pretty(JsonNode node) {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
