package dev.orrery.router.sim;

import dev.orrery.router.provider.ProviderAdapter;
import dev.orrery.router.provider.ProviderCall;
import dev.orrery.router.provider.ProviderException;
import dev.orrery.router.provider.ProviderResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Scheduler;
import scala.concurrent.ExecutionContextExecutor;

/**
 * The simulated provider as a {@link ProviderAdapter}, so it sits behind the same provider actor,
 * breaker, buckets and routes as a real endpoint. Answers are {@link SimulatedAnswers}' (a pure
 * function of the prompt and output schema). Whether a call fails is drawn from the seed and the
 * attempt's key (the step's idempotency key and the attempt number), so a demo fails the same way every
 * time while each retry gets a fresh draw; a call without a key draws from the prompt and the call count.
 */
public final class SimulatedAdapter implements ProviderAdapter {
  private final String name;
  private final SimulatedProviderSettings settings;
  private final Scheduler scheduler;
  private final ExecutionContextExecutor executor;
  private final AtomicLong calls = new AtomicLong();

  /** @param executor where delayed answers complete: never the common pool (see FACTS: 2-core trap). */
  public SimulatedAdapter(
      String name, SimulatedProviderSettings settings, Scheduler scheduler, ExecutionContextExecutor executor) {
    if (name == null || name.isBlank()) throw new IllegalArgumentException("name must not be blank");
    this.name = name;
    this.settings = settings;
    this.scheduler = scheduler;
    this.executor = executor;
  }

  public static SimulatedAdapter create(String name, SimulatedProviderSettings settings, ActorSystem<?> system) {
    return new SimulatedAdapter(name, settings, system.scheduler(), system.executionContext());
  }

  @Override
  public String name() {
    return name;
  }

  /** How many calls reached this adapter: tests use it to prove a provider was not called twice. */
  public long calls() {
    return calls.get();
  }

  @Override
  public CompletionStage<ProviderResponse> call(ProviderCall call) {
    long n = calls.incrementAndGet();
    if (settings.latency().compareTo(call.timeout()) > 0) {
      // Like a real endpoint that is slower than the attempt allows: nothing comes back in time.
      var timedOut = new CompletableFuture<ProviderResponse>();
      scheduler.scheduleOnce(call.timeout(), () -> timedOut.completeExceptionally(new ProviderException(name,
          ProviderException.Kind.TIMEOUT, 0, "no answer within " + call.timeout().toMillis() + " ms")), executor);
      return timedOut;
    }
    if (settings.latency().isZero()) return answer(call, n);
    var delayed = new CompletableFuture<ProviderResponse>();
    scheduler.scheduleOnce(settings.latency(), () -> answer(call, n).whenComplete((r, e) -> {
      if (e != null) delayed.completeExceptionally(e); else delayed.complete(r);
    }), executor);
    return delayed;
  }

  private CompletableFuture<ProviderResponse> answer(ProviderCall call, long n) {
    String prompt = SimulatedAnswers.promptText(call.messages());
    long draw = call.attemptKey() != null ? SimulatedAnswers.fnv1a(call.attemptKey()) : SimulatedAnswers.fnv1a(prompt) ^ n;
    if (SimulatedAnswers.fails(settings.failureRate(), settings.seed(), draw)) {
      return CompletableFuture.failedFuture(new ProviderException(name, ProviderException.Kind.SERVER_ERROR, 503,
          "simulated provider failure (failure-rate " + settings.failureRate() + ")"));
    }
    String text = SimulatedAnswers.text(call.messages(), call.outputSchema(), call.maxTokens());
    if (call.streaming()) {
      // Word by word, so a live view sees the text grow; the pieces concatenate to the final text.
      int from = 0;
      for (int i = 1; i <= text.length(); i++) {
        if (i == text.length() || text.charAt(i) == ' ') {
          call.deltas().onDelta(text.substring(from, i));
          from = i;
        }
      }
    }
    return CompletableFuture.completedFuture(new ProviderResponse(
        text, List.of(), SimulatedAnswers.tokens(prompt), SimulatedAnswers.tokens(text), call.model(), "stop"));
  }
}
