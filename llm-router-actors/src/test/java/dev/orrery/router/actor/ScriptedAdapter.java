package dev.orrery.router.actor;

import dev.orrery.core.port.ChatMessage;
import dev.orrery.router.provider.ProviderAdapter;
import dev.orrery.router.provider.ProviderCall;
import dev.orrery.router.provider.ProviderException;
import dev.orrery.router.provider.ProviderResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * An in-process provider for tests: each call is answered by a replaceable script (answer at once,
 * fail with a given kind, answer after a delay on the actor system's scheduler, or hold the call until
 * the test completes it). It counts calls, records when each arrived, and tracks the most calls it ever
 * had in flight at once.
 */
public final class ScriptedAdapter implements ProviderAdapter {
  /** How to answer the n-th call (1-based). */
  @FunctionalInterface
  public interface Script {
    CompletionStage<ProviderResponse> answer(ProviderCall call, int n);
  }

  /** A call held by {@link #hold()}: the test completes it. */
  public record Held(ProviderCall call, CompletableFuture<ProviderResponse> answer) {
    public String prompt() {
      return call.messages().get(call.messages().size() - 1).content();
    }
  }

  private final String name;
  private volatile Script script;
  private final AtomicInteger calls = new AtomicInteger();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlight = new AtomicInteger();
  private final ConcurrentLinkedQueue<Long> callNanos = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<ProviderCall> seen = new ConcurrentLinkedQueue<>();
  private final LinkedBlockingQueue<Held> held = new LinkedBlockingQueue<>();

  public ScriptedAdapter(String name, Script script) {
    this.name = name;
    this.script = script;
  }

  public static ScriptedAdapter answering(String name) {
    return new ScriptedAdapter(name, ok());
  }

  @Override
  public String name() {
    return name;
  }

  public void script(Script next) {
    script = next;
  }

  public int calls() {
    return calls.get();
  }

  public int maxInFlight() {
    return maxInFlight.get();
  }

  public List<Long> callNanos() {
    return List.copyOf(callNanos);
  }

  public List<ProviderCall> seen() {
    return List.copyOf(seen);
  }

  public LinkedBlockingQueue<Held> held() {
    return held;
  }

  @Override
  public CompletionStage<ProviderResponse> call(ProviderCall call) {
    int n = calls.incrementAndGet();
    callNanos.add(System.nanoTime());
    seen.add(call);
    int now = inFlight.incrementAndGet();
    maxInFlight.accumulateAndGet(now, Math::max);
    CompletionStage<ProviderResponse> answer;
    try {
      answer = script.answer(call, n);
    } catch (RuntimeException e) {
      answer = CompletableFuture.failedFuture(e);
    }
    return answer.whenComplete((r, e) -> inFlight.decrementAndGet());
  }

  // --- scripts ---

  public ProviderResponse response(ProviderCall call) {
    List<ChatMessage> m = call.messages();
    return new ProviderResponse(name + " answers " + m.get(m.size() - 1).content(), List.of(), 10, 5, call.model(),
        "stop");
  }

  public static Script ok() {
    return (call, n) -> CompletableFuture.completedFuture(
        new ProviderResponse("ok " + n, List.of(), 10, 5, call.model(), "stop"));
  }

  public Script answers() {
    return (call, n) -> CompletableFuture.completedFuture(response(call));
  }

  public Script after(Duration delay, ActorSystem<?> system) {
    return (call, n) -> {
      var f = new CompletableFuture<ProviderResponse>();
      system.scheduler().scheduleOnce(delay, () -> f.complete(response(call)), system.executionContext());
      return f;
    };
  }

  /** Completes on the actor system's executor: asynchronous, but as fast as it gets. */
  public Script async(ActorSystem<?> system) {
    return (call, n) -> CompletableFuture.supplyAsync(() -> response(call), system.executionContext());
  }

  public Script failing(ProviderException.Kind kind, int status, Duration retryAfter) {
    return (call, n) -> CompletableFuture.failedFuture(
        new ProviderException(name, kind, status, retryAfter, "scripted " + kind, null));
  }

  public Script hold() {
    return (call, n) -> {
      var f = new CompletableFuture<ProviderResponse>();
      held.add(new Held(call, f));
      return f;
    };
  }

  /** Never answers: only the attempt's timeout ends the call. */
  public static Script silent() {
    return (call, n) -> new CompletableFuture<>();
  }
}
