package dev.orrery.router.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.ToolCall;
import dev.orrery.core.port.ToolSpec;
import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Authorization;

/**
 * OpenAI-compatible Chat Completions ({@code POST {baseUrl}/chat/completions}), non-streaming and SSE
 * streaming, with tool calls and usage. The same protocol serves Ollama ({@code http://host:11434/v1}),
 * vLLM and llama.cpp's server through their OpenAI-compatible endpoints, so there is no adapter of
 * their own.
 *
 * <p>A streaming call asks for {@code stream_options.include_usage}, so the last chunk carries the
 * token counts; it ends at {@code data: [DONE]} and any other end is {@code STREAM_INTERRUPTED}. A
 * server that ignores {@code stream} and answers plain JSON is read as a non-streaming answer whose text
 * reaches the sink as one delta.
 */
public final class OpenAiAdapter implements ProviderAdapter {
  private static final String DONE = "[DONE]";

  private final String name;
  private final ProviderHttpClient.Operation completions;
  private final ProviderHttpClient http;
  private final Executor executor;

  /**
   * @param baseUrl the API root including its version, e.g. {@code https://api.openai.com/v1}
   * @param apiKey sent as a bearer token; null for servers that take none (Ollama, llama.cpp)
   */
  public OpenAiAdapter(String name, String baseUrl, String apiKey, ActorSystem<?> system) {
    this(name, baseUrl, apiKey, system, ProviderHttpSettings.fromConfig(system.settings().config()),
        Clock.systemUTC());
  }

  /** @param clock reads a {@code Retry-After} given as a date */
  public OpenAiAdapter(String name, String baseUrl, String apiKey, ActorSystem<?> system,
      ProviderHttpSettings settings, Clock clock) {
    this.name = name;
    this.completions = new ProviderHttpClient.Operation(name, baseUrl, "/chat/completions",
        apiKey != null && !apiKey.isBlank() ? List.of(Authorization.oauth2(apiKey)) : List.of());
    this.http = new ProviderHttpClient(name, system, settings, clock);
    this.executor = system.executionContext();
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public CompletionStage<ProviderResponse> call(ProviderCall call) {
    HttpRequest request = completions.request(call.streaming(), http.json(body(call)));
    return http.send(request, call.timeout(), (response, exchange) ->
        call.streaming() && exchange.isEventStream(response)
            ? readStream(response, exchange, call)
            : readAnswer(response, exchange, call));
  }

  /** The request body: OpenAI's field names, optional fields only when set. */
  ObjectNode body(ProviderCall call) {
    ObjectNode body = ProviderHttpClient.JSON.createObjectNode();
    body.put("model", call.model());
    ArrayNode messages = body.putArray("messages");
    for (ChatMessage m : call.messages()) {
      ObjectNode message = messages.addObject().put("role", m.role());
      if (m.content() == null) message.putNull("content"); else message.put("content", m.content());
      if (m.hasToolCalls()) {
        ArrayNode calls = message.putArray("tool_calls");
        for (ToolCall tc : m.toolCalls()) {
          calls.addObject().put("id", tc.id()).put("type", "function").putObject("function")
              .put("name", tc.name()).put("arguments", tc.arguments() == null ? "{}" : tc.arguments());
        }
      }
      if (m.toolCallId() != null) message.put("tool_call_id", m.toolCallId());
    }
    body.put("max_tokens", call.maxTokens());
    if (call.temperature() != null) body.put("temperature", call.temperature());
    if (!call.tools().isEmpty()) {
      ArrayNode tools = body.putArray("tools");
      for (ToolSpec t : call.tools()) {
        ObjectNode function = tools.addObject().put("type", "function").putObject("function");
        function.put("name", t.name());
        if (t.description() != null) function.put("description", t.description());
        function.set("parameters", t.parameters() != null ? t.parameters()
            : ProviderHttpClient.JSON.createObjectNode().put("type", "object"));
      }
    }
    if (call.outputSchema() != null) {
      ObjectNode format = body.putObject("response_format").put("type", "json_schema");
      format.putObject("json_schema").put("name", "output").set("schema", call.outputSchema());
    }
    if (call.streaming()) {
      body.put("stream", true);
      body.putObject("stream_options").put("include_usage", true);
    }
    return body;
  }

  private CompletionStage<ProviderResponse> readAnswer(
      HttpResponse response, ProviderHttpClient.Exchange exchange, ProviderCall call) {
    // readJson completes on the executor already: no second hop to it.
    return exchange.readJson(response).thenApply(json -> {
      ProviderResponse answer = parseAnswer(json, call.model());
      exchange.deliver(call.deltas(), answer.text()); // a streaming call answered as plain JSON: one delta
      return answer;
    });
  }

  private ProviderResponse parseAnswer(JsonNode json, String requestedModel) {
    JsonNode choice = json.path("choices").path(0);
    if (!choice.isObject()) {
      if (json.path("error").isObject()) {
        throw ProviderFailures.errorEvent(name, json.path("error").path("type").asText(null),
            json.path("error").path("message").asText(null));
      }
      throw ProviderFailures.malformed(name, "no choices[0] in the answer", null);
    }
    JsonNode message = choice.path("message");
    if (!message.isObject()) throw ProviderFailures.malformed(name, "no choices[0].message in the answer", null);
    List<ToolCall> toolCalls = new ArrayList<>();
    int index = 0;
    for (JsonNode tc : message.path("tool_calls")) {
      JsonNode function = tc.path("function");
      if (!function.path("name").isTextual()) {
        throw ProviderFailures.malformed(name, "a tool call without function.name", null);
      }
      toolCalls.add(new ToolCall(tc.path("id").asText("call_" + index), function.path("name").asText(),
          argumentsText(function.path("arguments"))));
      index++;
    }
    String text = message.path("content").isTextual() ? message.path("content").asText() : null;
    if (text == null && toolCalls.isEmpty()) text = "";
    JsonNode usage = json.path("usage");
    return new ProviderResponse(text, toolCalls, usage.path("prompt_tokens").asLong(0),
        usage.path("completion_tokens").asLong(0), json.path("model").asText(requestedModel),
        choice.path("finish_reason").asText(null));
  }

  /** The arguments as JSON text; a few servers send an object where OpenAI sends a string. */
  private static String argumentsText(JsonNode arguments) {
    if (arguments.isTextual()) return arguments.asText();
    if (arguments.isMissingNode() || arguments.isNull()) return "{}";
    return arguments.toString();
  }

  private CompletionStage<ProviderResponse> readStream(
      HttpResponse response, ProviderHttpClient.Exchange exchange, ProviderCall call) {
    StreamedAnswer answer = new StreamedAnswer(exchange, call);
    CompletionStage<Void> ended = exchange.readEvents(response, "data: " + DONE, (type, data) -> answer.onData(data));
    return ended.thenApplyAsync(done -> answer.result(), executor);
  }

  /**
   * The answer being assembled from chunks. Only the stream's thread touches it, one event at a time,
   * and {@link #result()} runs after the end marker: no locking needed.
   */
  private final class StreamedAnswer {
    private final ProviderHttpClient.Exchange exchange;
    private final ProviderCall call;
    private final StringBuilder text = new StringBuilder();
    private final Map<Integer, ToolCallParts> toolCalls = new TreeMap<>();
    private long tokensIn;
    private long tokensOut;
    private String model;
    private String finishReason;

    StreamedAnswer(ProviderHttpClient.Exchange exchange, ProviderCall call) {
      this.exchange = exchange;
      this.call = call;
    }

    boolean onData(String data) {
      if (DONE.equals(data.strip())) return true;
      JsonNode chunk;
      try {
        chunk = ProviderHttpClient.JSON.readTree(data);
      } catch (IOException e) {
        throw ProviderFailures.malformed(name, "a stream chunk is not JSON: " + abbreviate(data), e);
      }
      if (chunk == null || !chunk.isObject()) {
        throw ProviderFailures.malformed(name, "a stream chunk is not a JSON object: " + abbreviate(data), null);
      }
      if (chunk.path("error").isObject()) { // vLLM and others report a failure mid-stream this way
        throw ProviderFailures.errorEvent(name, chunk.path("error").path("type").asText(null),
            chunk.path("error").path("message").asText(null));
      }
      if (chunk.path("model").isTextual()) model = chunk.path("model").asText();
      JsonNode usage = chunk.path("usage");
      if (usage.isObject()) {
        tokensIn = usage.path("prompt_tokens").asLong(tokensIn);
        tokensOut = usage.path("completion_tokens").asLong(tokensOut);
      }
      JsonNode choice = chunk.path("choices").path(0);
      if (choice.isObject()) {
        JsonNode delta = choice.path("delta");
        if (delta.path("content").isTextual()) {
          String piece = delta.path("content").asText();
          text.append(piece);
          exchange.deliver(call.deltas(), piece);
        }
        for (JsonNode tc : delta.path("tool_calls")) {
          int index = tc.path("index").asInt(toolCalls.size());
          toolCalls.computeIfAbsent(index, i -> new ToolCallParts()).add(tc);
        }
        if (choice.path("finish_reason").isTextual()) finishReason = choice.path("finish_reason").asText();
      }
      return false;
    }

    ProviderResponse result() {
      List<ToolCall> calls = new ArrayList<>();
      for (Map.Entry<Integer, ToolCallParts> e : toolCalls.entrySet()) {
        ToolCallParts parts = e.getValue();
        if (parts.name.length() == 0) {
          throw ProviderFailures.malformed(name, "streamed tool call " + e.getKey() + " has no name", null);
        }
        String arguments = parts.arguments.length() == 0 ? "{}" : parts.arguments.toString();
        calls.add(new ToolCall(parts.id != null ? parts.id : "call_" + e.getKey(), parts.name.toString(), arguments));
      }
      String answer = text.length() == 0 && !calls.isEmpty() ? null : text.toString();
      return new ProviderResponse(answer, calls, tokensIn, tokensOut, model != null ? model : call.model(),
          finishReason);
    }
  }

  /** A tool call arrives by index: id and name in its first chunk, the arguments in pieces after. */
  private static final class ToolCallParts {
    private String id;
    private final StringBuilder name = new StringBuilder();
    private final StringBuilder arguments = new StringBuilder();

    void add(JsonNode chunk) {
      if (chunk.path("id").isTextual() && id == null) id = chunk.path("id").asText();
      JsonNode function = chunk.path("function");
      // The name comes whole in one chunk; some servers repeat it, which must not double it.
      if (function.path("name").isTextual() && name.length() == 0) name.append(function.path("name").asText());
      if (function.path("arguments").isTextual()) arguments.append(function.path("arguments").asText());
    }
  }

  static String abbreviate(String s) {
    return s.length() <= 200 ? s : s.substring(0, 200) + "…";
  }
}
