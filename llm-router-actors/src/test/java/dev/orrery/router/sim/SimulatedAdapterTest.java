package dev.orrery.router.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.router.provider.ProviderCall;
import dev.orrery.router.provider.ProviderException;
import dev.orrery.router.provider.ProviderResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class SimulatedAdapterTest {
  private static final ActorTestKit kit = ActorTestKit.create();
  private static final SimulatedProviderSettings SETTINGS = SimulatedProviderSettings.fromConfig(ConfigFactory.load());

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static ProviderCall call(String prompt, Duration timeout, ConcurrentLinkedQueue<String> deltas) {
    return new ProviderCall("sim-small", List.of(ChatMessage.user(prompt)), 64, null, null, List.of(),
        deltas == null ? null : deltas::add, timeout);
  }

  private static ProviderResponse answer(SimulatedAdapter adapter, ProviderCall call) throws Exception {
    return adapter.call(call).toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void answersAreAPureFunctionOfThePrompt() throws Exception {
    var adapter = SimulatedAdapter.create("simulated", SETTINGS, kit.system());
    ProviderResponse r = answer(adapter, call("Summarize the tides", Duration.ofSeconds(5), null));
    ProviderResponse again = answer(adapter, call("Summarize the tides", Duration.ofSeconds(5), null));
    List<ChatMessage> asked = List.of(ChatMessage.user("Summarize the tides"));
    assertEquals(SimulatedAnswers.text(asked, null, 64), r.text());
    assertEquals(r.text(), again.text());
    assertEquals(SimulatedAnswers.tokens(SimulatedAnswers.promptText(asked)), r.tokensIn());
    assertEquals(SimulatedAnswers.tokens(r.text()), r.tokensOut());
    assertEquals(2, adapter.calls());
    assertEquals("sim-small", r.model());
  }

  @Test
  void streamsDeltasThatConcatenateToTheText() throws Exception {
    var adapter = SimulatedAdapter.create("simulated", SETTINGS.withLatency(Duration.ofMillis(20)), kit.system());
    var deltas = new ConcurrentLinkedQueue<String>();
    ProviderResponse r = answer(adapter, call("Stream it", Duration.ofSeconds(5), deltas));
    assertTrue(deltas.size() > 3, "word by word: " + deltas);
    assertEquals(r.text(), String.join("", deltas));
  }

  @Test
  void failsAsConfiguredAndTimesOutWhenSlowerThanTheAttempt() throws Exception {
    var failing = SimulatedAdapter.create("simulated", SETTINGS.withFailureRate(1.0), kit.system());
    var e = assertInstanceOf(ProviderException.class, cause(failing, call("x", Duration.ofSeconds(5), null)));
    assertEquals(ProviderException.Kind.SERVER_ERROR, e.kind());
    assertEquals("simulated", e.provider());

    var slow = SimulatedAdapter.create("simulated", SETTINGS.withLatency(Duration.ofSeconds(30)), kit.system());
    var t = assertInstanceOf(ProviderException.class, cause(slow, call("x", Duration.ofMillis(50), null)));
    assertEquals(ProviderException.Kind.TIMEOUT, t.kind());
  }

  private static Throwable cause(SimulatedAdapter adapter, ProviderCall call) throws Exception {
    try {
      adapter.call(call).toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    }
    throw new AssertionError("expected a failure");
  }
}
