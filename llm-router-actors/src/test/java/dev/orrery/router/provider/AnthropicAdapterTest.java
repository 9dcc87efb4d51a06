package dev.orrery.router.provider;

import static dev.orrery.router.provider.AdapterCalls.await;
import static dev.orrery.router.provider.AdapterCalls.call;
import static dev.orrery.router.provider.AdapterCalls.failure;
import static dev.orrery.router.provider.AdapterCalls.json;
import static dev.orrery.router.provider.AdapterCalls.weatherTool;
import static dev.orrery.router.provider.AdapterCalls.withTools;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.ToolCall;
import dev.orrery.router.fake.CannedAnswer;
import dev.orrery.router.fake.FakeProviderServer;
import dev.orrery.router.fake.Fault;
import dev.orrery.router.provider.ProviderException.Kind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AnthropicAdapterTest {
  private static final ActorTestKit kit = ActorTestKit.create();

  private FakeProviderServer server;
  private AnthropicAdapter adapter;

  @BeforeEach
  void start() {
    server = FakeProviderServer.start(kit.system());
    adapter = new AnthropicAdapter("fake-anthropic", server.anthropicBaseUrl(), "sk-ant-test", kit.system());
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @AfterAll
  static void shutdown() throws Exception {
    // Pools still open when the system stops log "shut down unexpectedly"; close them first.
    Http.get(kit.system()).shutdownAllConnectionPools().toCompletableFuture().get(10, TimeUnit.SECONDS);
    kit.shutdownTestKit();
  }

  @Test
  void nonStreamingMessageCarriesTextAndUsage() throws Exception {
    ProviderResponse answer = await(adapter.call(call("hello world")));

    assertEquals("echo: hello world", answer.text());
    assertEquals(4, answer.tokensIn()); // the system prompt "be brief" + "hello world"
    assertEquals(3, answer.tokensOut());
    assertEquals("fake-small", answer.model());
    assertEquals("end_turn", answer.finishReason());

    var request = server.requests().get(0);
    assertEquals("/v1/messages", request.path());
    assertEquals("sk-ant-test", request.header("x-api-key"));
    assertEquals("2023-06-01", request.header("anthropic-version"));
    JsonNode body = request.json();
    assertEquals("be brief", body.path("system").asText(), "system messages go to the top-level field");
    assertEquals(1, body.path("messages").size());
    assertEquals("user", body.path("messages").path(0).path("role").asText());
    assertEquals(64, body.path("max_tokens").asInt());
    assertFalse(body.has("stream"));
  }

  @Test
  void streamedDeltasArriveInOrderAndConcatenateToTheText() throws Exception {
    List<String> deltas = new CopyOnWriteArrayList<>();
    ProviderResponse answer = await(adapter.call(call("one two three", deltas::add, AdapterCalls.TIMEOUT)));

    assertEquals(List.of("echo:", " one", " two", " three"), deltas);
    assertEquals(String.join("", deltas), answer.text());
    assertEquals(5, answer.tokensIn(), "from message_start");
    assertEquals(4, answer.tokensOut(), "from message_delta");
    assertEquals("end_turn", answer.finishReason());
    assertTrue(server.requests().get(0).json().path("stream").asBoolean());
  }

  @Test
  void aToolConversationSendsToolUseAndToolResultBlocks() throws Exception {
    ToolCall paris = new ToolCall("toolu_1", "get_weather", "{\"city\":\"Paris\"}");
    ToolCall rome = new ToolCall("toolu_2", "get_weather", "{\"city\":\"Rome\"}");
    ProviderCall first = withTools(call("weather in Paris and Rome?"), weatherTool());
    List<ChatMessage> conversation = new ArrayList<>(first.messages());
    conversation.add(ChatMessage.assistant("Checking.", List.of(paris, rome)));
    conversation.add(ChatMessage.tool("toolu_1", "sunny"));
    conversation.add(ChatMessage.tool("toolu_2", "rain"));

    await(adapter.call(new ProviderCall(first.model(), conversation, 64, null, null, first.tools(), null,
        AdapterCalls.TIMEOUT)));

    JsonNode messages = server.requests().get(0).json().path("messages");
    assertEquals(3, messages.size(), "the system prompt is top-level; both results share one user turn");
    JsonNode assistant = messages.path(1).path("content");
    assertEquals("text", assistant.path(0).path("type").asText());
    assertEquals("tool_use", assistant.path(1).path("type").asText());
    assertEquals("toolu_2", assistant.path(2).path("id").asText());
    assertEquals("Rome", assistant.path(2).path("input").path("city").asText());
    JsonNode results = messages.path(2);
    assertEquals("user", results.path("role").asText());
    assertEquals("tool_result", results.path("content").path(0).path("type").asText());
    assertEquals("toolu_1", results.path("content").path(0).path("tool_use_id").asText());
    assertEquals("rain", results.path("content").path(1).path("content").asText());
  }

  @Test
  void toolUseBecomesToolCalls() throws Exception {
    ToolCall weather = new ToolCall("toolu_1", "get_weather", "{\"city\":\"Paris\"}");
    server.enqueueAnswers(CannedAnswer.toolCalls(weather));

    ProviderResponse answer = await(adapter.call(withTools(call("weather in Paris?"), weatherTool())));

    assertNull(answer.text());
    assertEquals(List.of(weather), answer.toolCalls());
    assertEquals("tool_use", answer.finishReason());
    JsonNode tool = server.requests().get(0).json().path("tools").path(0);
    assertEquals("get_weather", tool.path("name").asText());
    assertEquals("object", tool.path("input_schema").path("type").asText());
  }

  @Test
  void streamedToolUseIsAssembledFromInputJsonDeltas() throws Exception {
    ToolCall paris = new ToolCall("toolu_1", "get_weather", "{\"city\":\"Paris\"}");
    ToolCall rome = new ToolCall("toolu_2", "get_weather", "{\"city\":\"Rome\",\"unit\":\"C\"}");
    server.enqueueAnswers(new CannedAnswer("Checking both.", List.of(paris, rome)));
    List<String> deltas = new CopyOnWriteArrayList<>();

    ProviderResponse answer = await(adapter.call(withTools(call("two cities", deltas::add, AdapterCalls.TIMEOUT),
        weatherTool())));

    assertEquals("Checking both.", answer.text());
    assertEquals("Checking both.", String.join("", deltas));
    assertEquals(List.of(paris, rome), answer.toolCalls());
    assertEquals("tool_use", answer.finishReason());
  }

  @Test
  void anOutputSchemaBecomesASystemInstruction() throws Exception {
    JsonNode schema = json("{\"type\":\"object\",\"properties\":{\"label\":{\"type\":\"string\"}}}");
    ProviderCall plain = call("label this");
    await(adapter.call(new ProviderCall(plain.model(), List.of(ChatMessage.user("label this")), 64, null, schema,
        List.of(), null, AdapterCalls.TIMEOUT)));

    String system = server.requests().get(0).json().path("system").asText();
    assertTrue(system.contains(schema.toString()), system);
  }

  @Test
  void rateLimitedCarriesRetryAfterSeconds() {
    server.enqueue(Fault.rateLimited(Duration.ofSeconds(2)));

    ProviderException e = failure(adapter.call(call("hi")));

    assertEquals(Kind.RATE_LIMITED, e.kind());
    assertEquals(429, e.httpStatus());
    assertEquals(Duration.ofSeconds(2), e.retryAfter());
  }

  @Test
  void serverErrorsAreClassified() {
    server.enqueue(Fault.serverError(), Fault.unavailable());

    ProviderException first = failure(adapter.call(call("hi")));
    ProviderException second = failure(adapter.call(call("hi")));

    assertEquals(Kind.SERVER_ERROR, first.kind());
    assertEquals(500, first.httpStatus());
    assertEquals(Kind.SERVER_ERROR, second.kind());
    assertEquals(503, second.httpStatus());
    assertTrue(second.getMessage().contains("overloaded"), second.getMessage());
  }

  @Test
  void aBadRequestIsAClientErrorWithTheProvidersMessage() {
    server.enqueue(Fault.badRequest("messages: roles must alternate"));

    ProviderException e = failure(adapter.call(call("hi")));

    assertEquals(Kind.CLIENT_ERROR, e.kind());
    assertEquals(400, e.httpStatus());
    assertTrue(e.getMessage().contains("messages: roles must alternate"), e.getMessage());
  }

  @Test
  void malformedJsonIsAnErrorNamingTheProvider() {
    server.enqueue(Fault.malformedJson(), Fault.malformedJson());

    ProviderException plain = failure(adapter.call(call("hi")));
    ProviderException streamed = failure(adapter.call(call("hi", text -> {}, AdapterCalls.TIMEOUT)));

    for (ProviderException e : List.of(plain, streamed)) {
      assertEquals(Kind.MALFORMED_RESPONSE, e.kind());
      assertTrue(e.getMessage().contains("fake-anthropic"), e.getMessage());
    }
  }

  @Test
  void aHangPastTheTimeoutIsATimeout() {
    server.enqueue(Fault.hang());
    long started = System.nanoTime();

    ProviderException e = failure(adapter.call(call("hi", text -> {}, Duration.ofMillis(500))));

    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertEquals(Kind.TIMEOUT, e.kind());
    assertTrue(tookMs >= 450 && tookMs < 2000, "timed out after " + tookMs + " ms");
  }

  @Test
  void aMidStreamDisconnectIsInterruptedNotATruncatedSuccess() {
    server.enqueue(Fault.dropMidStream(3));
    List<String> deltas = new CopyOnWriteArrayList<>();

    ProviderException e = failure(adapter.call(call("one two three four", deltas::add, AdapterCalls.TIMEOUT)));

    assertEquals(Kind.STREAM_INTERRUPTED, e.kind());
    assertEquals(List.of("echo:", " one", " two"), deltas);
  }

  @Test
  void anErrorInsideTheStreamFailsTheCall() {
    server.enqueue(Fault.errorMidStream(1));
    List<String> deltas = new CopyOnWriteArrayList<>();

    ProviderException e = failure(adapter.call(call("one two", deltas::add, AdapterCalls.TIMEOUT)));

    assertEquals(Kind.SERVER_ERROR, e.kind());
    assertTrue(e.getMessage().contains("Overloaded"), e.getMessage());
    assertEquals(List.of("echo:"), deltas);
  }

  @Test
  void aSlowStreamStillCompletes() throws Exception {
    server.enqueue(Fault.slowStream(Duration.ofMillis(40)));
    List<String> deltas = new CopyOnWriteArrayList<>();

    ProviderResponse answer = await(adapter.call(call("slow but sure", deltas::add, AdapterCalls.TIMEOUT)));

    assertEquals("echo: slow but sure", answer.text());
    assertEquals(List.of("echo:", " slow", " but", " sure"), deltas);
  }
}
