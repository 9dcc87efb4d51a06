package dev.orrery.router.provider;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.DeltaSink;
import dev.orrery.core.port.ToolSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Calls and waits the adapter tests share: plain functions, no state. */
public final class AdapterCalls {
  public static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final ObjectMapper JSON = new ObjectMapper();

  private AdapterCalls() {}

  public static ProviderCall call(String prompt) {
    return call(prompt, null, TIMEOUT);
  }

  public static ProviderCall call(String prompt, DeltaSink sink, Duration timeout) {
    return new ProviderCall("fake-small", List.of(ChatMessage.system("be brief"), ChatMessage.user(prompt)), 64, 0.0,
        null, List.of(), sink, timeout);
  }

  public static ProviderCall withTools(ProviderCall call, ToolSpec... tools) {
    return new ProviderCall(call.model(), call.messages(), call.maxTokens(), call.temperature(), call.outputSchema(),
        List.of(tools), call.deltas(), call.timeout());
  }

  public static ToolSpec weatherTool() {
    return new ToolSpec("get_weather", "The weather in a city", json(
        "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}"));
  }

  public static JsonNode json(String text) {
    try {
      return JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The answer, waiting at most 15 s: a test never hangs on a broken adapter. */
  public static ProviderResponse await(CompletionStage<ProviderResponse> stage) throws Exception {
    return stage.toCompletableFuture().get(15, TimeUnit.SECONDS);
  }

  /** The failure, which must be a {@link ProviderException}. */
  public static ProviderException failure(CompletionStage<ProviderResponse> stage) {
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> stage.toCompletableFuture().get(15, TimeUnit.SECONDS));
    return assertInstanceOf(ProviderException.class, e.getCause());
  }

  /** A loopback port with nothing listening on it. */
  public static int closedPort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
