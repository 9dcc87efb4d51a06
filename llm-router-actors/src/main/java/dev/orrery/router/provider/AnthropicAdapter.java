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
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * Anthropic's Messages API ({@code POST {baseUrl}/v1/messages}), non-streaming and streaming, with
 * {@code tool_use} and usage. System messages go to the top-level {@code system} field (joined, in
 * order), as the API takes no system role among the messages.
 *
 * <p>The Messages API has no portable structured-output option, so an output schema becomes an
 * instruction appended to the system prompt; the step that asked for the schema validates the answer.
 * A stream ends at its {@code message_stop} event; any other end is {@code STREAM_INTERRUPTED}, and an
 * {@code error} event mid-stream fails the call with the kind its error type names.
 */
public final class AnthropicAdapter implements ProviderAdapter {
  static final String API_VERSION = "2023-06-01";

  private final String name;
  private final ProviderHttpClient.Operation messages;
  private final ProviderHttpClient http;
  private final Executor executor;

  /** @param baseUrl the API root without a version, e.g. {@code https://api.anthropic.com} */
  public AnthropicAdapter(String name, String baseUrl, String apiKey, ActorSystem<?> system) {
    this(name, baseUrl, apiKey, system, ProviderHttpSettings.fromConfig(system.settings().config()),
        Clock.systemUTC());
  }

  /** @param clock reads a {@code Retry-After} given as a date */
  public AnthropicAdapter(String name, String baseUrl, String apiKey, ActorSystem<?> system,
      ProviderHttpSettings settings, Clock clock) {
    this.name = name;
    List<HttpHeader> headers = new ArrayList<>(List.of(RawHeader.create("anthropic-version", API_VERSION)));
    if (apiKey != null && !apiKey.isBlank()) headers.add(RawHeader.create("x-api-key", apiKey));
    this.messages = new ProviderHttpClient.Operation(name, baseUrl, "/v1/messages", headers);
    this.http = new ProviderHttpClient(name, system, settings, clock);
    this.executor = system.executionContext();
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public CompletionStage<ProviderResponse> call(ProviderCall call) {
    HttpRequest request = messages.request(call.streaming(), http.json(body(call)));
    return http.send(request, call.timeout(), (response, exchange) ->
        call.streaming() && exchange.isEventStream(response)
            ? readStream(response, exchange, call)
            : readAnswer(response, exchange, call));
  }

  ObjectNode body(ProviderCall call) {
    ObjectNode body = ProviderHttpClient.JSON.createObjectNode();
    body.put("model", call.model());
    body.put("max_tokens", call.maxTokens());
    StringBuilder system = new StringBuilder();
    ArrayNode messages = body.putArray("messages");
    for (ChatMessage m : call.messages()) {
      if ("system".equals(m.role())) {
        if (system.length() > 0) system.append("\n\n");
        system.append(m.content());
      } else {
        appendMessage(messages, m);
      }
    }
    if (call.outputSchema() != null) {
      if (system.length() > 0) system.append("\n\n");
      system.append("Answer with a single JSON value that conforms to this JSON Schema, and nothing else: ")
          .append(call.outputSchema().toString());
    }
    if (system.length() > 0) body.put("system", system.toString());
    if (call.temperature() != null) body.put("temperature", call.temperature());
    if (!call.tools().isEmpty()) {
      ArrayNode tools = body.putArray("tools");
      for (ToolSpec t : call.tools()) {
        ObjectNode tool = tools.addObject().put("name", t.name());
        if (t.description() != null) tool.put("description", t.description());
        tool.set("input_schema", t.parameters() != null ? t.parameters()
            : ProviderHttpClient.JSON.createObjectNode().put("type", "object"));
      }
    }
    if (call.streaming()) body.put("stream", true);
    return body;
  }

  /**
   * A message in the Messages API's shape: an assistant turn that called tools becomes {@code tool_use}
   * blocks after its text; a tool result becomes a {@code tool_result} block of a user turn, and
   * consecutive results share one user turn, as the API asks for parallel calls.
   */
  private static void appendMessage(ArrayNode messages, ChatMessage m) {
    if ("tool".equals(m.role())) {
      JsonNode last = messages.size() == 0 ? null : messages.get(messages.size() - 1);
      ArrayNode blocks;
      if (last != null && "user".equals(last.path("role").asText()) && last.path("content").isArray()
          && "tool_result".equals(last.path("content").path(0).path("type").asText())) {
        blocks = (ArrayNode) last.get("content");
      } else {
        blocks = messages.addObject().put("role", "user").putArray("content");
      }
      blocks.addObject().put("type", "tool_result").put("tool_use_id", m.toolCallId())
          .put("content", m.content() == null ? "" : m.content());
      return;
    }
    if (!m.hasToolCalls()) {
      messages.addObject().put("role", m.role()).put("content", m.content() == null ? "" : m.content());
      return;
    }
    ArrayNode blocks = messages.addObject().put("role", m.role()).putArray("content");
    if (m.content() != null && !m.content().isEmpty()) blocks.addObject().put("type", "text").put("text", m.content());
    for (ToolCall tc : m.toolCalls()) {
      JsonNode input;
      try {
        input = ProviderHttpClient.JSON.readTree(tc.arguments() == null ? "{}" : tc.arguments());
      } catch (IOException e) {
        input = null;
      }
      blocks.addObject().put("type", "tool_use").put("id", tc.id()).put("name", tc.name())
          .set("input", input != null && input.isObject() ? input : ProviderHttpClient.JSON.createObjectNode());
    }
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
    if ("error".equals(json.path("type").asText())) {
      throw ProviderFailures.errorEvent(name, json.path("error").path("type").asText(null),
          json.path("error").path("message").asText(null));
    }
    JsonNode content = json.path("content");
    if (!content.isArray()) throw ProviderFailures.malformed(name, "no content array in the answer", null);
    StringBuilder text = new StringBuilder();
    List<ToolCall> toolCalls = new ArrayList<>();
    for (JsonNode block : content) {
      String type = block.path("type").asText();
      if ("text".equals(type)) {
        text.append(block.path("text").asText(""));
      } else if ("tool_use".equals(type)) {
        if (!block.path("name").isTextual()) throw ProviderFailures.malformed(name, "a tool_use without a name", null);
        JsonNode input = block.path("input");
        toolCalls.add(new ToolCall(block.path("id").asText("toolu_" + toolCalls.size()), block.path("name").asText(),
            input.isMissingNode() || input.isNull() ? "{}" : input.toString()));
      }
      // thinking and other block kinds are not part of the answer
    }
    JsonNode usage = json.path("usage");
    return new ProviderResponse(text.length() == 0 && !toolCalls.isEmpty() ? null : text.toString(), toolCalls,
        usage.path("input_tokens").asLong(0), usage.path("output_tokens").asLong(0),
        json.path("model").asText(requestedModel), json.path("stop_reason").asText(null));
  }

  private CompletionStage<ProviderResponse> readStream(
      HttpResponse response, ProviderHttpClient.Exchange exchange, ProviderCall call) {
    StreamedAnswer answer = new StreamedAnswer(exchange, call);
    return exchange.readEvents(response, "message_stop", answer::onEvent)
        .thenApplyAsync(done -> answer.result(), executor);
  }

  /**
   * The answer being assembled from stream events. Only the stream's thread touches it, one event at a
   * time, and {@link #result()} runs after {@code message_stop}: no locking needed.
   */
  private final class StreamedAnswer {
    private final ProviderHttpClient.Exchange exchange;
    private final ProviderCall call;
    private final StringBuilder text = new StringBuilder();
    private final Map<Integer, ToolUse> toolUses = new TreeMap<>();
    private long tokensIn;
    private long tokensOut;
    private String model;
    private String stopReason;

    StreamedAnswer(ProviderHttpClient.Exchange exchange, ProviderCall call) {
      this.exchange = exchange;
      this.call = call;
    }

    boolean onEvent(String eventType, String data) {
      JsonNode event;
      try {
        event = ProviderHttpClient.JSON.readTree(data);
      } catch (IOException e) {
        throw ProviderFailures.malformed(name, "a stream event is not JSON: " + OpenAiAdapter.abbreviate(data), e);
      }
      if (event == null || !event.isObject()) {
        throw ProviderFailures.malformed(name, "a stream event is not a JSON object: " + OpenAiAdapter.abbreviate(data),
            null);
      }
      // The data's own type is authoritative; the SSE event name repeats it.
      String type = event.path("type").asText(eventType == null ? "" : eventType);
      switch (type) {
        case "message_start":
          JsonNode message = event.path("message");
          if (message.path("model").isTextual()) model = message.path("model").asText();
          tokensIn = message.path("usage").path("input_tokens").asLong(tokensIn);
          tokensOut = message.path("usage").path("output_tokens").asLong(tokensOut);
          return false;
        case "content_block_start":
          onBlockStart(event.path("index").asInt(), event.path("content_block"));
          return false;
        case "content_block_delta":
          onBlockDelta(event.path("index").asInt(), event.path("delta"));
          return false;
        case "message_delta":
          if (event.path("delta").path("stop_reason").isTextual()) {
            stopReason = event.path("delta").path("stop_reason").asText();
          }
          // output_tokens here is the running total, not an increment
          tokensOut = event.path("usage").path("output_tokens").asLong(tokensOut);
          tokensIn = event.path("usage").path("input_tokens").asLong(tokensIn);
          return false;
        case "message_stop":
          return true;
        case "error":
          throw ProviderFailures.errorEvent(name, event.path("error").path("type").asText(null),
              event.path("error").path("message").asText(null));
        default:
          return false; // ping, content_block_stop, and event kinds added after this adapter was written
      }
    }

    private void onBlockStart(int index, JsonNode block) {
      String blockType = block.path("type").asText();
      if ("text".equals(blockType)) {
        appendText(block.path("text").asText(""));
      } else if ("tool_use".equals(blockType)) {
        JsonNode input = block.path("input");
        toolUses.put(index, new ToolUse(block.path("id").asText("toolu_" + index), block.path("name").asText(null),
            input.isObject() && input.size() > 0 ? input.toString() : null));
      }
    }

    private void onBlockDelta(int index, JsonNode delta) {
      String deltaType = delta.path("type").asText();
      if ("text_delta".equals(deltaType)) {
        appendText(delta.path("text").asText(""));
      } else if ("input_json_delta".equals(deltaType)) {
        ToolUse use = toolUses.get(index);
        if (use == null) throw ProviderFailures.malformed(name, "input_json_delta for block " + index
            + " which is no tool_use", null);
        use.json.append(delta.path("partial_json").asText(""));
      }
      // thinking_delta, signature_delta, citations_delta: not part of the answer's text
    }

    private void appendText(String piece) {
      text.append(piece);
      exchange.deliver(call.deltas(), piece);
    }

    ProviderResponse result() {
      List<ToolCall> calls = new ArrayList<>();
      for (Map.Entry<Integer, ToolUse> e : toolUses.entrySet()) {
        ToolUse use = e.getValue();
        if (use.name == null) throw ProviderFailures.malformed(name, "streamed tool_use " + e.getKey() + " has no name",
            null);
        calls.add(new ToolCall(use.id, use.name, use.arguments()));
      }
      return new ProviderResponse(text.length() == 0 && !calls.isEmpty() ? null : text.toString(), calls, tokensIn,
          tokensOut, model != null ? model : call.model(), stopReason);
    }

    /** A tool_use block: its input arrives as pieces of JSON text. */
    private final class ToolUse {
      private final String id;
      private final String name;
      private final String initialInput;
      private final StringBuilder json = new StringBuilder();

      ToolUse(String id, String name, String initialInput) {
        this.id = id;
        this.name = name;
        this.initialInput = initialInput;
      }

      /** The input as compact JSON, written the same way as a non-streamed answer's. */
      String arguments() {
        if (json.length() == 0) return initialInput != null ? initialInput : "{}";
        try {
          JsonNode input = ProviderHttpClient.JSON.readTree(json.toString());
          return input == null ? "{}" : input.toString();
        } catch (IOException e) {
          throw ProviderFailures.malformed(AnthropicAdapter.this.name, "the streamed input of tool_use " + id
              + " is not JSON", e);
        }
      }
    }
  }
}
