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
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OpenAiAdapterTest {
  private static final ActorTestKit kit = ActorTestKit.create();

  private FakeProviderServer server;
  private OpenAiAdapter adapter;

  @BeforeEach
  void start() {
    server = FakeProviderServer.start(kit.system());
    adapter = new OpenAiAdapter("fake-openai", server.openAiBaseUrl(), "sk-test", kit.system());
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
  void nonStreamingCompletionCarriesTextAndUsage() throws Exception {
    ProviderResponse answer = await(adapter.call(call("hello world")));

    assertEquals("echo: hello world", answer.text());
    assertEquals(4, answer.tokensIn()); // "be brief" + "hello world"
    assertEquals(3, answer.tokensOut());
    assertEquals("fake-small", answer.model());
    assertEquals("stop", answer.finishReason());
    assertTrue(answer.toolCalls().isEmpty());

    var request = server.requests().get(0);
    assertEquals("/v1/chat/completions", request.path());
    assertEquals("Bearer sk-test", request.header("authorization"));
    JsonNode body = request.json();
    assertEquals("fake-small", body.path("model").asText());
    assertEquals(64, body.path("max_tokens").asInt());
    assertEquals(0.0, body.path("temperature").asDouble());
    assertEquals("system", body.path("messages").path(0).path("role").asText());
    assertEquals("hello world", body.path("messages").path(1).path("content").asText());
    assertFalse(body.has("stream"), "a non-streaming call does not ask for a stream");
  }

  @Test
  void streamedDeltasArriveInOrderAndConcatenateToTheText() throws Exception {
    List<String> deltas = new CopyOnWriteArrayList<>();
    ProviderResponse answer = await(adapter.call(call("one two three", deltas::add, AdapterCalls.TIMEOUT)));

    assertEquals(List.of("echo:", " one", " two", " three"), deltas);
    assertEquals(String.join("", deltas), answer.text());
    assertEquals(5, answer.tokensIn());
    assertEquals(4, answer.tokensOut());
    assertEquals("stop", answer.finishReason());
    JsonNode body = server.requests().get(0).json();
    assertTrue(body.path("stream").asBoolean());
    assertTrue(body.path("stream_options").path("include_usage").asBoolean());
  }

  @Test
  void toolCallsAreReadFromAPlainAnswer() throws Exception {
    ToolCall weather = new ToolCall("call_1", "get_weather", "{\"city\":\"Paris\"}");
    server.enqueueAnswers(CannedAnswer.toolCalls(weather));

    ProviderResponse answer = await(adapter.call(withTools(call("weather in Paris?"), weatherTool())));

    assertNull(answer.text(), "an answer that only calls tools has no text");
    assertEquals(List.of(weather), answer.toolCalls());
    assertEquals("tool_calls", answer.finishReason());
    JsonNode tool = server.requests().get(0).json().path("tools").path(0);
    assertEquals("function", tool.path("type").asText());
    assertEquals("get_weather", tool.path("function").path("name").asText());
    assertEquals("object", tool.path("function").path("parameters").path("type").asText());
  }

  @Test
  void streamedToolCallsAreAssembledByIndex() throws Exception {
    ToolCall paris = new ToolCall("call_1", "get_weather", "{\"city\":\"Paris\"}");
    ToolCall rome = new ToolCall("call_2", "get_weather", "{\"city\":\"Rome\",\"unit\":\"C\"}");
    server.enqueueAnswers(new CannedAnswer("Checking both.", List.of(paris, rome)));
    List<String> deltas = new CopyOnWriteArrayList<>();

    ProviderResponse answer = await(adapter.call(withTools(call("two cities", deltas::add, AdapterCalls.TIMEOUT),
        weatherTool())));

    assertEquals("Checking both.", answer.text());
    assertEquals("Checking both.", String.join("", deltas), "tool-call chunks are not text deltas");
    assertEquals(List.of(paris, rome), answer.toolCalls());
    assertEquals("tool_calls", answer.finishReason());
  }

  @Test
  void aToolConversationSendsTheCallsAndTheirResultsBack() throws Exception {
    ToolCall paris = new ToolCall("call_1", "get_weather", "{\"city\":\"Paris\"}");
    ToolCall rome = new ToolCall("call_2", "get_weather", "{\"city\":\"Rome\"}");
    ProviderCall first = withTools(call("weather in Paris and Rome?"), weatherTool());
    List<ChatMessage> conversation = new ArrayList<>(first.messages());
    conversation.add(ChatMessage.assistant(null, List.of(paris, rome)));
    conversation.add(ChatMessage.tool("call_1", "sunny"));
    conversation.add(ChatMessage.tool("call_2", "rain"));

    ProviderResponse answer = await(adapter.call(new ProviderCall(first.model(), conversation, 64, null, null,
        first.tools(), null, AdapterCalls.TIMEOUT)));

    assertEquals("echo: weather in Paris and Rome?", answer.text());
    JsonNode messages = server.requests().get(0).json().path("messages");
    JsonNode assistant = messages.path(2);
    assertEquals("assistant", assistant.path("role").asText());
    assertTrue(assistant.path("content").isNull(), "an answer that only called tools has null content");
    assertEquals("call_2", assistant.path("tool_calls").path(1).path("id").asText());
    assertEquals("function", assistant.path("tool_calls").path(0).path("type").asText());
    assertEquals("{\"city\":\"Paris\"}", assistant.path("tool_calls").path(0).path("function").path("arguments")
        .asText());
    assertEquals("tool", messages.path(3).path("role").asText());
    assertEquals("call_1", messages.path(3).path("tool_call_id").asText());
    assertEquals("rain", messages.path(4).path("content").asText());
  }

  @Test
  void anOutputSchemaIsSentAsResponseFormat() throws Exception {
    JsonNode schema = json("{\"type\":\"object\",\"properties\":{\"label\":{\"type\":\"string\"}}}");
    ProviderCall plain = call("label this");
    await(adapter.call(new ProviderCall(plain.model(), plain.messages(), 64, null, schema, List.of(), null,
        AdapterCalls.TIMEOUT)));

    JsonNode format = server.requests().get(0).json().path("response_format");
    assertEquals("json_schema", format.path("type").asText());
    assertEquals(schema, format.path("json_schema").path("schema"));
    assertFalse(server.requests().get(0).json().has("temperature"), "no temperature when none was asked for");
  }

  @Test
  void rateLimitedCarriesRetryAfter() {
    server.enqueue(Fault.rateLimited(Duration.ofMillis(2500)));

    ProviderException e = failure(adapter.call(call("hi")));

    assertEquals(Kind.RATE_LIMITED, e.kind());
    assertEquals(429, e.httpStatus());
    assertEquals(Duration.ofMillis(2500), e.retryAfter(), "retry-after-ms wins over the rounded Retry-After");
    assertTrue(e.getMessage().contains("Rate limit reached"), e.getMessage());
    assertTrue(e.retryable());
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
  }

  @Test
  void aBadRequestIsAClientErrorWithTheProvidersMessage() {
    server.enqueue(Fault.badRequest("max_tokens is too large: 999999"));

    ProviderException e = failure(adapter.call(call("hi")));

    assertEquals(Kind.CLIENT_ERROR, e.kind());
    assertEquals(400, e.httpStatus());
    assertTrue(e.getMessage().contains("max_tokens is too large: 999999"), e.getMessage());
    assertFalse(e.retryable());
  }

  @Test
  void malformedJsonIsAnErrorNamingTheProvider() {
    server.enqueue(Fault.malformedJson(), Fault.malformedJson());

    ProviderException plain = failure(adapter.call(call("hi")));
    List<String> deltas = new CopyOnWriteArrayList<>();
    ProviderException streamed = failure(adapter.call(call("hi", deltas::add, AdapterCalls.TIMEOUT)));

    for (ProviderException e : List.of(plain, streamed)) {
      assertEquals(Kind.MALFORMED_RESPONSE, e.kind());
      assertTrue(e.getMessage().contains("fake-openai"), e.getMessage());
    }
    assertTrue(deltas.isEmpty());
  }

  @Test
  void aHangPastTheTimeoutIsATimeout() {
    server.enqueue(Fault.hang());
    long started = System.nanoTime();

    ProviderException e = failure(adapter.call(call("hi", null, Duration.ofMillis(500))));

    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertEquals(Kind.TIMEOUT, e.kind());
    assertTrue(tookMs >= 450 && tookMs < 2000, "timed out after " + tookMs + " ms");
  }

  @Test
  void theTimeoutCoversTheWholeStream() {
    server.enqueue(Fault.slowStream(Duration.ofMillis(200)));
    List<String> deltas = new CopyOnWriteArrayList<>();

    ProviderException e = failure(adapter.call(call("a b c d e f g h", deltas::add, Duration.ofMillis(700))));

    assertEquals(Kind.TIMEOUT, e.kind());
    assertTrue(deltas.size() < 9, "the stream was cut, yet " + deltas.size() + " deltas arrived");
  }

  @Test
  void aMidStreamDisconnectIsInterruptedNotATruncatedSuccess() {
    server.enqueue(Fault.dropMidStream(2));
    List<String> deltas = new CopyOnWriteArrayList<>();

    ProviderException e = failure(adapter.call(call("one two three four", deltas::add, AdapterCalls.TIMEOUT)));

    assertEquals(Kind.STREAM_INTERRUPTED, e.kind());
    assertEquals(List.of("echo:", " one"), deltas);
  }

  @Test
  void aCutPlainAnswerIsAConnectionFailure() {
    server.enqueue(Fault.dropMidStream(0));

    ProviderException e = failure(adapter.call(call("hi")));

    assertEquals(Kind.CONNECTION, e.kind());
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

  @Test
  void aRefusedConnectionIsAConnectionFailure() {
    OpenAiAdapter nowhere = new OpenAiAdapter("nowhere", "http://127.0.0.1:" + AdapterCalls.closedPort() + "/v1",
        null, kit.system());

    ProviderException e = failure(nowhere.call(call("hi")));

    assertEquals(Kind.CONNECTION, e.kind());
    assertEquals("nowhere", e.provider());
  }

  @Test
  void aBaseUrlThatIsNoUrlIsRefusedAtStartNamingTheProvider() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> new OpenAiAdapter("broken", "http://exa mple/v1", null, kit.system()));

    assertTrue(e.getMessage().contains("provider 'broken'") && e.getMessage().contains("http://exa mple/v1"),
        e.getMessage());
  }

  @Test
  void twoThousandConcurrentCallsAllComplete() throws Exception {
    server.setLatency(Duration.ofMillis(50));
    server.setRecording(false);
    int calls = 2000;
    List<CompletableFuture<ProviderResponse>> pending = new ArrayList<>(calls);
    long started = System.nanoTime();

    for (int i = 0; i < calls; i++) {
      ProviderCall call = new ProviderCall("fake-small", List.of(ChatMessage.user("n" + i)), 16, null, null, null, null,
          Duration.ofSeconds(20));
      pending.add(adapter.call(call).toCompletableFuture());
    }
    CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).get(25, TimeUnit.SECONDS);

    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    for (int i = 0; i < calls; i++) assertEquals("echo: n" + i, pending.get(i).get().text());
    assertEquals(calls, server.requestCount());
    kit.system().log().info("{} concurrent calls with 50 ms upstream latency took {} ms", calls, tookMs);
  }
}
