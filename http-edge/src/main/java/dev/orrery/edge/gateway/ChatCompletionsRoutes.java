package dev.orrery.edge.gateway;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.entity;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.LlmResult;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.port.ToolCall;
import dev.orrery.core.port.ToolSpec;
import dev.orrery.core.trace.Tracing;
import dev.orrery.edge.EdgeSettings;
import dev.orrery.edge.auth.AuthDirectives;
import dev.orrery.ledger.tenant.Role;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * {@code POST /v1/chat/completions} and {@code GET /v1/models}, in OpenAI's request, response, stream and
 * error shapes, served by the node's {@link LlmPort}. A {@code model} that names a route (such as
 * {@code default}) is routed by that route's policy; any other listed model is pinned.
 */
public final class ChatCompletionsRoutes {
  /** Chunks a slow client has not read yet; beyond it the stream ends rather than buffering without bound. */
  private static final int STREAM_BUFFER = 4096;
  private static final int DEFAULT_MAX_TOKENS = 1024;
  private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

  private final ActorSystem<?> system;
  private final LlmPort llm;
  /** What the router serves: fixed for the node's life (its catalog is read once at start). */
  private final List<GatewayModel> models;
  private final List<String> routes;
  private final Set<String> modelIds;
  private final ObjectMapper json;
  private final EdgeSettings settings;
  private final AuthDirectives auth;

  public ChatCompletionsRoutes(ActorSystem<?> system, LlmPort llm, List<GatewayModel> models,
      List<String> routes, ObjectMapper json, EdgeSettings settings, AuthDirectives auth) {
    this.system = system;
    this.auth = auth;
    this.llm = llm;
    this.models = List.copyOf(models);
    this.routes = List.copyOf(routes);
    this.modelIds = models.stream().map(GatewayModel::id).collect(Collectors.toUnmodifiableSet());
    this.json = json;
    this.settings = settings;
  }

  public Route route() {
    ExceptionHandler openAiErrors = ExceptionHandler.newBuilder()
        .match(OpenAiError.class, e -> complete(e.toResponse(json)))
        .build();
    // The OpenAI SDKs send their API key as a bearer token: an Orrery key (or token) goes there.
    AuthDirectives.Refusals refusals = (code, message, details) -> OpenAiError.fromCode(code.name(), message)
        .toResponse(json);
    // The parts that do not depend on the request are made here once: a directive's inner route is
    // evaluated again for every request.
    Route models = auth.authenticated(Role.VIEWER, refusals, caller -> complete(modelList()));
    Route chat = auth.authenticated(Role.DEVELOPER, refusals,
        caller -> optionalHeaderValueByName("Idempotency-Key", key -> optionalHeaderValueByName(Tracing.TRACEPARENT,
            traceparent -> withSizeLimit(settings.maxBodyBytes(), () -> entity(Unmarshaller.entityToString(),
                body -> completeWithFuture(chat(caller.tenantId(), body, key, traceparent.orElse(null))))))));
    Route v1 = handleExceptions(openAiErrors, () -> concat(
        path("models", () -> get(() -> models)),
        path(CHAT_COMPLETIONS, () -> post(() -> chat))));
    return pathPrefix("v1", () -> v1);
  }

  /** Made once: the route's inner parts are evaluated for every request. */
  private static final org.apache.pekko.http.javadsl.server.PathMatcher0 CHAT_COMPLETIONS =
      org.apache.pekko.http.javadsl.server.PathMatchers.segment("chat")
          .slash(org.apache.pekko.http.javadsl.server.PathMatchers.segment("completions"));

  private HttpResponse modelList() {
    ArrayNode data = json.createArrayNode();
    long created = Instant.now().getEpochSecond();
    for (String route : routes) {
      data.addObject().put("id", route).put("object", "model").put("created", created).put("owned_by", "orrery");
    }
    for (GatewayModel m : models) {
      data.addObject().put("id", m.id()).put("object", "model").put("created", created).put("owned_by", m.ownedBy());
    }
    ObjectNode list = json.createObjectNode().put("object", "list");
    list.set("data", data);
    return jsonResponse(list);
  }

  /** @param traceparent the caller's span (W3C), which the call's provider spans continue; or null */
  private CompletionStage<HttpResponse> chat(String tenantId, String body, Optional<String> idempotencyKey,
      String traceparent) {
    ChatRequest chat;
    try {
      chat = parse(tenantId, body, idempotencyKey, traceparent);
    } catch (OpenAiError e) {
      return CompletableFuture.completedFuture(e.toResponse(json));
    }
    return chat.stream() ? CompletableFuture.completedFuture(stream(chat)) : once(chat);
  }

  private record ChatRequest(LlmRequest request, String model, boolean stream, boolean includeUsage) {}

  private ChatRequest parse(String tenantId, String body, Optional<String> idempotencyKey, String traceparent) {
    JsonNode tree;
    try {
      tree = json.readTree(body);
    } catch (JsonProcessingException e) {
      throw OpenAiError.invalid(null, "We could not parse the JSON body of your request: " + e.getOriginalMessage());
    }
    if (tree == null || !tree.isObject()) throw OpenAiError.invalid(null, "the request body must be a JSON object");
    String model = tree.path("model").asText("");
    if (model.isBlank()) throw OpenAiError.invalid("model", "you must provide a model parameter");
    boolean isRoute = routes.contains(model);
    if (!isRoute && !modelIds.contains(model)) {
      throw new OpenAiError(404, "invalid_request_error", "model_not_found", "model",
          "The model '" + model + "' does not exist; GET /v1/models lists what this gateway serves");
    }
    JsonNode messages = tree.path("messages");
    if (!messages.isArray() || messages.isEmpty()) {
      throw OpenAiError.invalid("messages", "messages must be a non-empty array");
    }
    List<ChatMessage> turns = new ArrayList<>();
    for (int i = 0; i < messages.size(); i++) {
      JsonNode m = messages.get(i);
      String role = m.path("role").asText("");
      if (!ROLES.contains(role)) {
        throw OpenAiError.invalid("messages[" + i + "].role", "unknown role '" + role + "'");
      }
      turns.add(new ChatMessage("developer".equals(role) ? "system" : role, contentOf(m.path("content"), i),
          toolCallsOf(m.path("tool_calls"), i), m.hasNonNull("tool_call_id") ? m.get("tool_call_id").asText() : null));
    }
    JsonNode maxTokensNode = tree.has("max_completion_tokens") ? tree.get("max_completion_tokens") : tree.get("max_tokens");
    int maxTokens = maxTokensNode == null || maxTokensNode.isNull() ? DEFAULT_MAX_TOKENS : maxTokensNode.asInt(-1);
    if (maxTokens <= 0) throw OpenAiError.invalid("max_tokens", "max_tokens must be a positive integer");
    Double temperature = tree.hasNonNull("temperature") ? tree.get("temperature").asDouble() : null;
    JsonNode schema = null;
    JsonNode format = tree.path("response_format");
    if ("json_schema".equals(format.path("type").asText())) {
      schema = format.path("json_schema").path("schema");
      if (!schema.isObject()) throw OpenAiError.invalid("response_format", "json_schema.schema must be an object");
    }
    List<ToolSpec> tools = new ArrayList<>();
    for (JsonNode t : tree.path("tools")) {
      JsonNode fn = t.path("function");
      if (!fn.hasNonNull("name")) throw OpenAiError.invalid("tools", "every tool needs function.name");
      tools.add(new ToolSpec(fn.get("name").asText(), fn.path("description").asText(null), fn.get("parameters")));
    }
    boolean stream = tree.path("stream").asBoolean(false);
    boolean includeUsage = tree.path("stream_options").path("include_usage").asBoolean(false);
    String key = idempotencyKey.map(k -> "gateway/" + k).orElse(null);
    var request = new LlmRequest(key, tenantId, isRoute ? model : null, isRoute ? null : model, turns,
        maxTokens, temperature, schema, settings.askTimeout(), tools, null).withTraceparent(traceparent);
    return new ChatRequest(request, model, stream, includeUsage);
  }

  /** An assistant turn's tool calls, as a client sends them back with the tools' results. */
  private static List<ToolCall> toolCallsOf(JsonNode calls, int index) {
    if (calls.isMissingNode() || calls.isNull()) return List.of();
    if (!calls.isArray()) throw OpenAiError.invalid("messages[" + index + "].tool_calls", "tool_calls must be an array");
    List<ToolCall> out = new ArrayList<>();
    for (JsonNode c : calls) {
      JsonNode fn = c.path("function");
      if (!c.hasNonNull("id") || !fn.hasNonNull("name")) {
        throw OpenAiError.invalid("messages[" + index + "].tool_calls", "every tool call needs an id and function.name");
      }
      out.add(new ToolCall(c.get("id").asText(), fn.get("name").asText(), fn.path("arguments").asText("{}")));
    }
    return out;
  }

  private static String contentOf(JsonNode content, int index) {
    if (content.isTextual()) return content.asText();
    if (content.isNull() || content.isMissingNode()) return "";
    if (content.isArray()) {
      var sb = new StringBuilder();
      for (JsonNode part : content) {
        if ("text".equals(part.path("type").asText())) sb.append(part.path("text").asText());
      }
      return sb.toString();
    }
    throw OpenAiError.invalid("messages[" + index + "].content", "content must be a string or an array of parts");
  }

  private CompletionStage<HttpResponse> once(ChatRequest chat) {
    return llm.complete(chat.request())
        .thenApplyAsync(result -> jsonResponse(completion(chat, result)), system.executionContext())
        .exceptionally(failure -> errorOf(failure).toResponse(json));
  }

  private ObjectNode completion(ChatRequest chat, LlmResult result) {
    ObjectNode body = json.createObjectNode()
        .put("id", completionId())
        .put("object", "chat.completion")
        .put("created", Instant.now().getEpochSecond())
        .put("model", result.model() != null ? result.model() : chat.model());
    ObjectNode choice = body.putArray("choices").addObject().put("index", 0);
    ObjectNode message = choice.putObject("message").put("role", "assistant");
    if (result.text() != null) message.put("content", result.text()); else message.putNull("content");
    if (!result.toolCalls().isEmpty()) message.set("tool_calls", toolCalls(result.toolCalls()));
    choice.put("finish_reason", result.toolCalls().isEmpty() ? "stop" : "tool_calls");
    body.set("usage", usage(result));
    return body;
  }

  /**
   * Streams {@code chat.completion.chunk} events. Deltas go out as the port delivers them; a port that
   * does not stream delivers the whole text as one delta. The stream ends with the finish chunk, the
   * usage chunk when asked for, and {@code [DONE]}; a failure mid-stream is sent as an error event.
   */
  private HttpResponse stream(ChatRequest chat) {
    Pair<BoundedSourceQueue<ByteString>, Source<ByteString, NotUsed>> queued =
        Source.<ByteString>queue(STREAM_BUFFER).preMaterialize(system);
    BoundedSourceQueue<ByteString> out = queued.first();
    String id = completionId();
    long created = Instant.now().getEpochSecond();
    AtomicBoolean streamed = new AtomicBoolean();
    out.offer(event(chunk(id, created, chat.model(), json.createObjectNode().put("role", "assistant"), null)));
    LlmRequest r = chat.request();
    LlmRequest streaming = new LlmRequest(r.idempotencyKey(), r.tenantId(), r.route(), r.model(), r.messages(),
        r.maxTokens(), r.temperature(), r.outputSchema(), r.timeout(), r.tools(), text -> {
          streamed.set(true);
          out.offer(event(chunk(id, created, chat.model(), json.createObjectNode().put("content", text), null)));
        }).withTraceparent(r.traceparent());
    llm.complete(streaming).whenCompleteAsync((result, failure) -> {
      if (failure != null) {
        OpenAiError e = errorOf(failure);
        ObjectNode error = json.createObjectNode();
        error.putObject("error").put("message", e.getMessage()).put("type", "server_error");
        out.offer(event(error));
      } else {
        if (!streamed.get() && result.text() != null) {
          out.offer(event(chunk(id, created, result.model(), json.createObjectNode().put("content", result.text()), null)));
        }
        ObjectNode last = json.createObjectNode();
        if (!result.toolCalls().isEmpty()) last.set("tool_calls", toolCalls(result.toolCalls()));
        out.offer(event(chunk(id, created, result.model(), last, result.toolCalls().isEmpty() ? "stop" : "tool_calls")));
        if (chat.includeUsage()) {
          ObjectNode usageChunk = chunk(id, created, result.model(), null, null);
          usageChunk.putArray("choices");
          usageChunk.set("usage", usage(result));
          out.offer(event(usageChunk));
        }
        out.offer(ByteString.fromString("data: [DONE]\n\n"));
      }
      out.complete();
    }, system.executionContext());
    return HttpResponse.create().withEntity(
        HttpEntities.createChunked(ContentTypes.create(MediaTypes.TEXT_EVENT_STREAM), queued.second()));
  }

  /** Ids only need to be unique enough to tell answers apart; SecureRandom per request is needless cost. */
  private static String completionId() {
    var random = java.util.concurrent.ThreadLocalRandom.current();
    return "chatcmpl-" + Long.toHexString(random.nextLong()) + Long.toHexString(random.nextLong());
  }

  private ObjectNode chunk(String id, long created, String model, ObjectNode delta, String finishReason) {
    ObjectNode chunk = json.createObjectNode()
        .put("id", id).put("object", "chat.completion.chunk").put("created", created).put("model", model);
    if (delta != null) {
      ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
      choice.set("delta", delta);
      if (finishReason != null) choice.put("finish_reason", finishReason); else choice.putNull("finish_reason");
    }
    return chunk;
  }

  private ArrayNode toolCalls(List<ToolCall> calls) {
    ArrayNode out = json.createArrayNode();
    for (int i = 0; i < calls.size(); i++) {
      ToolCall c = calls.get(i);
      ObjectNode call = out.addObject().put("index", i).put("id", c.id()).put("type", "function");
      call.putObject("function").put("name", c.name()).put("arguments", c.arguments());
    }
    return out;
  }

  private ObjectNode usage(LlmResult result) {
    long in = result.usage() == null ? 0 : result.usage().tokensIn();
    long outTokens = result.usage() == null ? 0 : result.usage().tokensOut();
    return json.createObjectNode().put("prompt_tokens", in).put("completion_tokens", outTokens)
        .put("total_tokens", in + outTokens);
  }

  private ByteString event(JsonNode data) {
    try {
      return ByteString.fromString("data: " + json.writeValueAsString(data) + "\n\n");
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a chunk is always serializable", e);
    }
  }

  private HttpResponse jsonResponse(JsonNode body) {
    try {
      return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, json.writeValueAsBytes(body));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a response is always serializable", e);
    }
  }

  private static OpenAiError errorOf(Throwable failure) {
    Throwable t = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    if (t instanceof OpenAiError e) return e;
    if (t instanceof StepFailure f) return OpenAiError.fromCode(f.code(), f.getMessage());
    if (t instanceof java.util.concurrent.TimeoutException) return OpenAiError.fromCode("TIMEOUT", "the request timed out");
    return OpenAiError.fromCode("INTERNAL", "internal error");
  }
}
