package dev.orrery.router.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.orrery.core.port.ToolCall;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;
import org.apache.pekko.util.ByteString;

/**
 * One wire protocol as the fake server speaks it: how to read a request, and the JSON and SSE shapes
 * of answers and errors, as the real APIs document them.
 */
sealed interface FakeWire {
  ObjectMapper JSON = new ObjectMapper();
  FakeWire OPENAI = new OpenAi();
  FakeWire ANTHROPIC = new Anthropic();

  /** What the fake reads from a request. */
  record Prompt(String model, String lastUserText, long tokensIn, boolean stream, boolean includeUsage) {}

  /** The answer to render, whichever protocol renders it. */
  record Reply(String id, String model, String text, List<ToolCall> toolCalls, long tokensIn, long tokensOut) {
    boolean hasText() {
      return text != null && !text.isEmpty();
    }
  }

  /** One SSE event; {@code delta} marks the events that carry answer content (what a drop counts). */
  record Event(String name, String data, boolean delta) {
    ByteString bytes() {
      return ByteString.fromString((name == null ? "" : "event: " + name + "\n") + "data: " + data + "\n\n");
    }
  }

  Prompt read(JsonNode request);

  ObjectNode answer(Reply reply);

  List<Event> stream(Reply reply, boolean includeUsage);

  /** The events before the first delta, then one that is not JSON. */
  List<Event> malformedStream(Reply reply);

  /** An error reported inside a stream: the server is overloaded. */
  Event errorEvent(String message);

  /** A 200 body whose JSON breaks off. */
  String malformedBody();

  ObjectNode error(int status, String message);

  List<HttpHeader> rateLimitHeaders(Duration retryAfter);

  /** Whitespace-separated words: deterministic, and easy to predict in a test. */
  static long tokens(String text) {
    if (text == null || text.isBlank()) return 0;
    return text.strip().split("\\s+").length;
  }

  /** The text in word-sized pieces, each but the first with its leading space: they concatenate back exactly. */
  static List<String> pieces(String text) {
    return List.of(text.split("(?<=\\S)(?=\\s)"));
  }

  /** A JSON text in two pieces, as providers split tool arguments across chunks. */
  static List<String> halves(String json) {
    if (json.length() < 2) return List.of(json);
    int mid = json.length() / 2;
    return List.of(json.substring(0, mid), json.substring(mid));
  }

  /** The text of a message's content: a string, or the text parts of a content array. */
  static String textOf(JsonNode content) {
    if (content.isTextual()) return content.asText();
    StringBuilder sb = new StringBuilder();
    for (JsonNode part : content) {
      if (part.path("text").isTextual()) sb.append(part.path("text").asText());
    }
    return sb.toString();
  }

  static String json(JsonNode node) {
    return node.toString();
  }

  static JsonNode parse(String json) {
    try {
      return JSON.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Prompt readMessages(JsonNode request, String system) {
    String lastUser = "";
    long tokensIn = tokens(system);
    for (JsonNode m : request.path("messages")) {
      String text = textOf(m.path("content"));
      tokensIn += tokens(text);
      if ("user".equals(m.path("role").asText())) lastUser = text;
    }
    return new Prompt(request.path("model").asText("fake-model"), lastUser, tokensIn,
        request.path("stream").asBoolean(false),
        request.path("stream_options").path("include_usage").asBoolean(false));
  }

  /** OpenAI Chat Completions. */
  final class OpenAi implements FakeWire {
    @Override
    public Prompt read(JsonNode request) {
      return readMessages(request, null);
    }

    @Override
    public ObjectNode answer(Reply reply) {
      ObjectNode body = head(reply, "chat.completion");
      ObjectNode choice = body.putArray("choices").addObject();
      choice.put("index", 0);
      ObjectNode message = choice.putObject("message").put("role", "assistant");
      if (reply.text() == null) message.putNull("content"); else message.put("content", reply.text());
      if (!reply.toolCalls().isEmpty()) {
        ArrayNode calls = message.putArray("tool_calls");
        for (ToolCall call : reply.toolCalls()) {
          calls.addObject().put("id", call.id()).put("type", "function").putObject("function")
              .put("name", call.name()).put("arguments", call.arguments());
        }
      }
      choice.put("finish_reason", finishReason(reply));
      usage(body.putObject("usage"), reply);
      return body;
    }

    @Override
    public List<Event> stream(Reply reply, boolean includeUsage) {
      List<Event> events = new ArrayList<>(opening(reply));
      if (reply.hasText()) {
        for (String piece : pieces(reply.text())) {
          events.add(chunk(reply, delta -> delta.put("content", piece), true));
        }
      }
      for (int i = 0; i < reply.toolCalls().size(); i++) {
        ToolCall call = reply.toolCalls().get(i);
        int index = i;
        events.add(chunk(reply, delta -> delta.putArray("tool_calls").addObject().put("index", index)
            .put("id", call.id()).put("type", "function").putObject("function")
            .put("name", call.name()).put("arguments", ""), true));
        for (String part : halves(call.arguments())) {
          events.add(chunk(reply, delta -> delta.putArray("tool_calls").addObject().put("index", index)
              .putObject("function").put("arguments", part), true));
        }
      }
      ObjectNode last = head(reply, "chat.completion.chunk");
      last.putArray("choices").addObject().put("index", 0).put("finish_reason", finishReason(reply))
          .putObject("delta");
      events.add(new Event(null, json(last), false));
      if (includeUsage) { // OpenAI's usage chunk: no choices, only the counts
        ObjectNode usage = head(reply, "chat.completion.chunk");
        usage.putArray("choices");
        usage(usage.putObject("usage"), reply);
        events.add(new Event(null, json(usage), false));
      }
      events.add(new Event(null, "[DONE]", false));
      return events;
    }

    @Override
    public List<Event> malformedStream(Reply reply) {
      List<Event> events = new ArrayList<>(opening(reply));
      events.add(new Event(null,
          "{\"id\": \"" + reply.id() + "\", \"choices\": [{\"delta\": {\"content\": \"tru", true));
      events.add(new Event(null, "[DONE]", false));
      return events;
    }

    @Override
    public Event errorEvent(String message) {
      return new Event(null, json(error(503, message)), false);
    }

    @Override
    public String malformedBody() {
      return "{\"id\": \"chatcmpl-broken\", \"object\": \"chat.completion\", "
          + "\"choices\": [{\"message\": {\"content\": \"tru";
    }

    @Override
    public ObjectNode error(int status, String message) {
      ObjectNode body = JSON.createObjectNode();
      ObjectNode error = body.putObject("error").put("message", message).put("type", errorType(status));
      error.putNull("param");
      if (status == 429) error.put("code", "rate_limit_exceeded"); else error.putNull("code");
      return body;
    }

    @Override
    public List<HttpHeader> rateLimitHeaders(Duration retryAfter) {
      if (retryAfter == null) return List.of();
      return List.of(RetryAfter.create(ceilSeconds(retryAfter)),
          RawHeader.create("retry-after-ms", Long.toString(retryAfter.toMillis())));
    }

    private static String errorType(int status) {
      if (status == 429) return "requests";
      if (status >= 500) return "server_error";
      return "invalid_request_error";
    }

    private static String finishReason(Reply reply) {
      return reply.toolCalls().isEmpty() ? "stop" : "tool_calls";
    }

    private static ObjectNode head(Reply reply, String object) {
      ObjectNode body = JSON.createObjectNode();
      body.put("id", reply.id()).put("object", object).put("created", 1_700_000_000L).put("model", reply.model());
      return body;
    }

    private static void usage(ObjectNode usage, Reply reply) {
      usage.put("prompt_tokens", reply.tokensIn()).put("completion_tokens", reply.tokensOut())
          .put("total_tokens", reply.tokensIn() + reply.tokensOut());
    }

    private static List<Event> opening(Reply reply) {
      return List.of(chunk(reply, delta -> delta.put("role", "assistant").put("content", ""), false));
    }

    private static Event chunk(Reply reply, java.util.function.Consumer<ObjectNode> fillDelta, boolean delta) {
      ObjectNode body = head(reply, "chat.completion.chunk");
      ObjectNode choice = body.putArray("choices").addObject().put("index", 0);
      fillDelta.accept(choice.putObject("delta"));
      choice.putNull("finish_reason");
      return new Event(null, json(body), delta);
    }
  }

  /** Anthropic Messages. */
  final class Anthropic implements FakeWire {
    @Override
    public Prompt read(JsonNode request) {
      return readMessages(request, textOf(request.path("system")));
    }

    @Override
    public ObjectNode answer(Reply reply) {
      ObjectNode body = message(reply);
      ArrayNode content = body.putArray("content");
      if (reply.hasText()) content.addObject().put("type", "text").put("text", reply.text());
      for (ToolCall call : reply.toolCalls()) {
        content.addObject().put("type", "tool_use").put("id", call.id()).put("name", call.name())
            .set("input", parse(call.arguments()));
      }
      body.put("stop_reason", stopReason(reply));
      body.putNull("stop_sequence");
      body.putObject("usage").put("input_tokens", reply.tokensIn()).put("output_tokens", reply.tokensOut());
      return body;
    }

    @Override
    public List<Event> stream(Reply reply, boolean includeUsage) {
      List<Event> events = new ArrayList<>(opening(reply));
      int index = 0;
      if (reply.hasText()) {
        for (String piece : pieces(reply.text())) {
          ObjectNode delta = event("content_block_delta").put("index", 0);
          delta.putObject("delta").put("type", "text_delta").put("text", piece);
          events.add(new Event("content_block_delta", json(delta), true));
        }
        events.add(blockStop(0));
        index = 1;
      }
      for (ToolCall call : reply.toolCalls()) {
        ObjectNode start = event("content_block_start").put("index", index);
        start.putObject("content_block").put("type", "tool_use").put("id", call.id()).put("name", call.name())
            .putObject("input");
        events.add(new Event("content_block_start", json(start), false));
        for (String part : halves(call.arguments())) {
          ObjectNode delta = event("content_block_delta").put("index", index);
          delta.putObject("delta").put("type", "input_json_delta").put("partial_json", part);
          events.add(new Event("content_block_delta", json(delta), true));
        }
        events.add(blockStop(index));
        index++;
      }
      ObjectNode messageDelta = event("message_delta");
      messageDelta.putObject("delta").put("stop_reason", stopReason(reply)).putNull("stop_sequence");
      messageDelta.putObject("usage").put("output_tokens", reply.tokensOut());
      events.add(new Event("message_delta", json(messageDelta), false));
      events.add(new Event("message_stop", json(event("message_stop")), false));
      return events;
    }

    @Override
    public List<Event> malformedStream(Reply reply) {
      List<Event> events = new ArrayList<>(opening(reply));
      events.add(new Event("content_block_delta",
          "{\"type\": \"content_block_delta\", \"index\": 0, "
              + "\"delta\": {\"type\": \"text_delta\", \"text\": \"tru", true));
      events.add(new Event("message_stop", json(event("message_stop")), false));
      return events;
    }

    @Override
    public Event errorEvent(String message) {
      return new Event("error", json(error(529, message)), false);
    }

    @Override
    public String malformedBody() {
      return "{\"id\": \"msg_broken\", \"type\": \"message\", \"content\": [{\"type\": \"text\", \"text\": \"tru";
    }

    @Override
    public ObjectNode error(int status, String message) {
      ObjectNode body = JSON.createObjectNode().put("type", "error");
      body.putObject("error").put("type", errorType(status)).put("message", message);
      return body;
    }

    @Override
    public List<HttpHeader> rateLimitHeaders(Duration retryAfter) {
      return retryAfter == null ? List.of() : List.of(RetryAfter.create(ceilSeconds(retryAfter)));
    }

    private static String errorType(int status) {
      if (status == 429) return "rate_limit_error";
      if (status == 503 || status == 529) return "overloaded_error";
      if (status >= 500) return "api_error";
      if (status == 401) return "authentication_error";
      if (status == 404) return "not_found_error";
      return "invalid_request_error";
    }

    private static String stopReason(Reply reply) {
      return reply.toolCalls().isEmpty() ? "end_turn" : "tool_use";
    }

    private static ObjectNode message(Reply reply) {
      return JSON.createObjectNode().put("id", reply.id()).put("type", "message").put("role", "assistant")
          .put("model", reply.model());
    }

    private static ObjectNode event(String type) {
      return JSON.createObjectNode().put("type", type);
    }

    private static Event blockStop(int index) {
      return new Event("content_block_stop", json(event("content_block_stop").put("index", index)), false);
    }

    /** message_start, and the text block's start with a ping, as Anthropic opens a stream. */
    private static List<Event> opening(Reply reply) {
      List<Event> events = new ArrayList<>();
      ObjectNode message = message(reply);
      message.putArray("content");
      message.putNull("stop_reason");
      message.putObject("usage").put("input_tokens", reply.tokensIn()).put("output_tokens", 1);
      ObjectNode start = event("message_start");
      start.set("message", message);
      events.add(new Event("message_start", json(start), false));
      if (reply.hasText()) {
        ObjectNode blockStart = event("content_block_start").put("index", 0);
        blockStart.putObject("content_block").put("type", "text").put("text", "");
        events.add(new Event("content_block_start", json(blockStart), false));
      }
      events.add(new Event("ping", json(event("ping")), false));
      return events;
    }
  }

  private static long ceilSeconds(Duration d) {
    return (d.toMillis() + 999) / 1000;
  }
}
