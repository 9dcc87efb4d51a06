package dev.orrery.router.fake;

import static dev.orrery.router.provider.AdapterCalls.await;
import static dev.orrery.router.provider.AdapterCalls.call;
import static dev.orrery.router.provider.AdapterCalls.failure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.router.provider.AnthropicAdapter;
import dev.orrery.router.provider.OpenAiAdapter;
import dev.orrery.router.provider.ProviderException;
import dev.orrery.router.provider.ProviderException.Kind;
import dev.orrery.router.provider.ProviderResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FakeProviderServerTest {
  private static final ActorTestKit kit = ActorTestKit.create();

  private FakeProviderServer server;
  private OpenAiAdapter openAi;

  @BeforeEach
  void start() {
    server = FakeProviderServer.start(kit.system());
    openAi = new OpenAiAdapter("fake-openai", server.openAiBaseUrl(), null, kit.system());
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
  void everyRequestIsCountedAndRecordedInArrivalOrder() throws Exception {
    AnthropicAdapter anthropic = new AnthropicAdapter("fake-anthropic", server.anthropicBaseUrl(), "k", kit.system());
    await(openAi.call(call("first")));
    await(anthropic.call(call("second")));
    await(openAi.call(call("third")));

    assertEquals(3, server.requestCount());
    List<RecordedRequest> requests = server.requests();
    assertEquals(List.of("/v1/chat/completions", "/v1/messages", "/v1/chat/completions"),
        requests.stream().map(RecordedRequest::path).toList());
    assertEquals(List.of(1L, 2L, 3L), requests.stream().map(RecordedRequest::sequence).toList());
    assertEquals("second", requests.get(1).json().path("messages").path(0).path("content").asText());
    assertTrue(requests.get(0).receivedNanos() <= requests.get(1).receivedNanos()
        && requests.get(1).receivedNanos() <= requests.get(2).receivedNanos());
    assertEquals(2, server.requestCount("/v1/chat/completions"));
  }

  @Test
  void modelsAreListedAndNeverFaulted() throws Exception {
    server.enqueue(Fault.serverError());

    HttpResponse response = Http.get(kit.system()).singleRequest(HttpRequest.GET(server.openAiBaseUrl() + "/models"))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    String body = response.entity().toStrict(5000, kit.system()).toCompletableFuture().get(10, TimeUnit.SECONDS)
        .getData().utf8String();

    assertEquals(200, response.status().intValue());
    JsonNode models = new ObjectMapper().readTree(body);
    assertEquals("list", models.path("object").asText());
    assertEquals("fake-small", models.path("data").path(0).path("id").asText());
    assertEquals(Kind.SERVER_ERROR, failure(openAi.call(call("hi"))).kind(), "the fault waited for a completion");
  }

  @Test
  void queuedFaultsApplyInOrderThenTheDefault() throws Exception {
    server.enqueue(Fault.unavailable(), Fault.rateLimited(Duration.ofSeconds(1)));
    server.setDefault(Fault.serverError());

    assertEquals(503, failure(openAi.call(call("a"))).httpStatus());
    assertEquals(429, failure(openAi.call(call("b"))).httpStatus());
    assertEquals(500, failure(openAi.call(call("c"))).httpStatus());
    assertEquals(500, failure(openAi.call(call("d"))).httpStatus());
    server.setDefault(Fault.none());
    assertEquals("echo: e", await(openAi.call(call("e"))).text());
  }

  @Test
  void cannedAnswersAreUsedOnlyByAnswersThatArriveWhole() throws Exception {
    server.enqueueAnswers(CannedAnswer.text("scripted one"), CannedAnswer.text("scripted two"));
    server.enqueue(Fault.serverError(), Fault.dropMidStream(0));

    assertEquals(Kind.SERVER_ERROR, failure(openAi.call(call("a"))).kind());
    assertEquals(Kind.CONNECTION, failure(openAi.call(call("b"))).kind());
    assertEquals("scripted one", await(openAi.call(call("c"))).text());
    assertEquals("scripted two", await(openAi.call(call("d"))).text());
    assertEquals("echo: e", await(openAi.call(call("e"))).text());
  }

  @Test
  void latencyDelaysEveryAnswer() throws Exception {
    server.setLatency(Duration.ofMillis(150));
    long started = System.nanoTime();

    await(openAi.call(call("a")));

    assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) >= 150);
  }

  @Test
  void arrivalTimesShowWhetherACallerHonouredRetryAfter() throws Exception {
    server.enqueue(Fault.rateLimited(Duration.ofMillis(300)));

    ProviderException limited = failure(openAi.call(call("a")));
    // What a well-behaved caller does: wait as long as it was told, on the system's executor.
    CompletionStage<ProviderResponse> retried = CompletableFuture
        .supplyAsync(() -> null, CompletableFuture.delayedExecutor(limited.retryAfter().toMillis(),
            TimeUnit.MILLISECONDS, kit.system().executionContext()))
        .thenComposeAsync(ignored -> openAi.call(call("a")), kit.system().executionContext());
    await(retried);

    List<RecordedRequest> requests = server.requests();
    long gapMs = TimeUnit.NANOSECONDS.toMillis(requests.get(1).receivedNanos() - requests.get(0).receivedNanos());
    assertTrue(gapMs >= 300, "the retry came after " + gapMs + " ms");
  }

  @Test
  void closingAnswersHangingRequests() {
    FakeProviderServer own = FakeProviderServer.start(kit.system());
    OpenAiAdapter adapter = new OpenAiAdapter("own", own.openAiBaseUrl(), null, kit.system());
    own.enqueue(Fault.hang());
    CompletableFuture<ProviderResponse> hanging =
        adapter.call(call("a", null, Duration.ofSeconds(10))).toCompletableFuture();
    kit.createTestProbe().awaitAssert(() -> {
      assertEquals(1, own.requestCount());
      return null;
    });
    assertFalse(hanging.isDone());
    long started = System.nanoTime();

    own.close();

    ProviderException e = failure(hanging);
    assertTrue(e.kind() == Kind.SERVER_ERROR || e.kind() == Kind.CONNECTION, e.toString());
    assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) < 5000, "not left to its 10 s timeout");
  }
}
