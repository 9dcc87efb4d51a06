package dev.orrery.router.route;

import com.typesafe.config.Config;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.port.CallEstimate;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.LlmResult;
import dev.orrery.core.port.RouteDefinition;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.port.TokenEstimate;
import dev.orrery.core.port.Usage;
import dev.orrery.router.actor.ProviderActor;
import dev.orrery.router.actor.ProviderStats;
import dev.orrery.router.provider.ProviderAdapter;
import dev.orrery.router.provider.ProviderResponse;
import dev.orrery.router.sim.SimulatedAdapter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * The {@link LlmPort} a step calls: the router with its provider actors. It turns a request into a
 * routed provider call, prices the answer with the serving model's list prices, and reports failures
 * as {@link StepFailure}s the edge knows: {@code PROVIDER_UNAVAILABLE} (retryable) when every provider
 * failed, {@code TIMEOUT} (retryable) when none answered in time, {@code INVALID_REQUEST} (not
 * retryable) when the request itself was refused or cannot be routed. The message names each provider
 * tried and why it failed.
 *
 * <p><b>Idempotency.</b> Calls are keyed by tenant and idempotency key. A second call with a key whose
 * first call is still running joins it (the same answer, no second provider call); a completed answer
 * is kept for {@code orrery.llm.idempotency.ttl} (at most {@code max-entries}), so a re-dispatched step
 * is neither sent nor charged twice. Failures are not kept: calling again tries again. A joining
 * streaming call gets no deltas of its own, only the final answer. The keys are kept on this node.
 *
 * <p><b>Response cache.</b> A route with {@code cache = on} answers a temperature-0 request identical
 * (per tenant) to one it served within {@code orrery.llm.response-cache.ttl} from the cache, with zero
 * usage (no provider was paid) and {@code tried = ["cache"]}; provider and model name who produced it.
 */
public final class LlmRouter implements LlmPort {
  /** Distinguishes the actors of routers started on one actor system (tests start several). */
  private static final AtomicInteger INSTANCES = new AtomicInteger();
  static final String CACHE = "cache";

  private record Running(String fingerprint, CompletableFuture<LlmResult> result) {}

  private record Done(String fingerprint, LlmResult result) {}

  private final ActorSystem<?> system;
  private final ProviderCatalog catalog;
  private final RouterSettings settings;
  private final List<Router.Endpoint> endpoints;
  private final Router router;
  /** Below this, a joiner whose shared call failed gives up rather than start a call it cannot finish. */
  private static final Duration MIN_TIME_FOR_OWN_CALL = Duration.ofMillis(100);

  private final Clock clock;
  private final ConcurrentHashMap<String, Running> running = new ConcurrentHashMap<>();
  private final ExpiringCache<String, Done> completed;
  private final ExpiringCache<String, LlmResult> responses;

  private LlmRouter(ActorSystem<?> system, ProviderCatalog catalog, RouterSettings settings,
      List<Router.Endpoint> endpoints, Clock clock) {
    this.system = system;
    this.catalog = catalog;
    this.settings = settings;
    this.endpoints = List.copyOf(endpoints);
    this.clock = clock;
    this.router = new Router(endpoints, catalog.routes().values(), system.scheduler(), system.executionContext(),
        clock, ThreadLocalRandom::current);
    this.completed = new ExpiringCache<>(settings.idempotencyTtl(), settings.idempotencyMaxEntries());
    this.responses = new ExpiringCache<>(settings.cacheTtl(), settings.cacheMaxEntries());
  }

  /**
   * Starts a provider actor per configured endpoint and the router over them.
   *
   * @param env the environment the providers' keys (and, without a provider list, the providers) come from
   * @param factory adapters for every kind but the simulated one, which the router brings itself
   */
  public static LlmRouter start(ActorSystem<?> system, Config config, Map<String, String> env, AdapterFactory factory) {
    return start(system, ProviderCatalog.fromConfig(config, env), RouterSettings.fromConfig(config), factory,
        Clock.systemUTC());
  }

  /** As {@link #start(ActorSystem, Config, Map, AdapterFactory)}, from settings already read. */
  public static LlmRouter start(ActorSystem<?> system, ProviderCatalog catalog, RouterSettings settings,
      AdapterFactory factory, Clock clock) {
    int instance = INSTANCES.incrementAndGet();
    List<Router.Endpoint> endpoints = new ArrayList<>();
    for (ProviderSettings p : catalog.providers()) {
      ProviderAdapter adapter = p.kind() == ProviderSettings.Kind.SIMULATED
          ? SimulatedAdapter.create(p.name(), p.simulated(), system)
          : factory.create(p, system);
      var stats = new ProviderStats();
      var setup = new ProviderActor.Setup(p.name(), p.limits(), adapter, stats, clock, settings::tenantWeight, true);
      ActorRef<ProviderActor.Command> actor =
          system.systemActorOf(ProviderActor.create(setup), "llm-provider-" + p.name() + "-" + instance, Props.empty());
      endpoints.add(new Router.Endpoint(p, actor, stats));
    }
    system.log().info("LLM router: providers from {}; routes {}", catalog.source(), catalog.routes().keySet());
    return new LlmRouter(system, catalog, settings, endpoints, clock);
  }

  @Override
  public CompletionStage<LlmResult> complete(LlmRequest request) {
    if (request.idempotencyKey() == null) {
      // A one-off call (the gateway without an Idempotency-Key): nothing to join or keep.
      var result = new CompletableFuture<LlmResult>();
      guarded(request).whenComplete((value, error) -> {
        if (error == null) result.complete(value); else result.completeExceptionally(unwrap(error));
      });
      return result;
    }
    String key = (request.tenantId() == null ? "" : request.tenantId()) + "|" + request.idempotencyKey();
    String fingerprint = RequestFingerprint.ofRequest(request);
    Done done = completed.get(key, now());
    if (done != null) return reuse(key, done, fingerprint);
    var result = new CompletableFuture<LlmResult>();
    var mine = new Running(fingerprint, result);
    Running first = running.putIfAbsent(key, mine);
    if (first != null) {
      if (!first.fingerprint().equals(fingerprint)) return CompletableFuture.failedFuture(reused(request));
      // A joiner cannot complete or cancel the shared call. If that call fails in a way worth retrying
      // while the joiner still has time of its own, the joiner makes its own call rather than inherit a
      // failure that may only mean the first caller's deadline ran out.
      Instant joinerDeadline = clock.instant().plus(timeoutOf(request));
      return first.result().copy().exceptionallyComposeAsync(error -> {
        Throwable cause = unwrap(error);
        boolean worthRetrying = cause instanceof StepFailure f && f.retryable();
        if (worthRetrying && clock.instant().plus(MIN_TIME_FOR_OWN_CALL).isBefore(joinerDeadline)) {
          return complete(request.withTimeout(Duration.between(clock.instant(), joinerDeadline)));
        }
        return CompletableFuture.failedFuture(cause);
      }, system.executionContext());
    }
    done = completed.get(key, now()); // it may have finished between the two looks
    if (done != null) {
      running.remove(key, mine);
      result.complete(done.result());
      return reuse(key, done, fingerprint);
    }
    guarded(request).whenComplete((value, error) -> {
      // Kept before the running entry goes, so a caller arriving in between finds one or the other.
      if (error == null) completed.put(key, new Done(fingerprint, value), now());
      running.remove(key, mine);
      if (error == null) result.complete(value); else result.completeExceptionally(unwrap(error));
    });
    return result.copy();
  }

  /** Priced at the dearest candidate the route could pick: a budget must hold enough for any of them. */
  @Override
  public CallEstimate estimate(LlmRequest request) {
    long cost = 0;
    try {
      for (Candidate c : router.eligible(request)) cost = Math.max(cost, (long) Math.ceil(c.estimatedCostMicros()));
    } catch (StepFailure unroutable) {
      // The call itself will be refused with this reason; its estimate need not repeat it.
    }
    return new CallEstimate(TokenEstimate.callTokens(request.messages(), request.maxTokens()), cost);
  }

  /** The route's definition on this node, as a run pins it (see {@link Router} on pinned routes). */
  @Override
  public RouteDefinition routeFor(String route, String model) {
    return router.definition(route, model);
  }

  /** A call that throws instead of failing its future must still end every caller's wait. */
  private CompletionStage<LlmResult> guarded(LlmRequest request) {
    try {
      return execute(request);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** The providers' models and list prices, for the gateway's {@code GET /v1/models}. */
  public List<ModelInfo> models() {
    List<ModelInfo> models = new ArrayList<>();
    for (ProviderSettings p : catalog.providers()) {
      for (ModelSettings m : p.models()) {
        models.add(new ModelInfo(p.name(), m.name(), m.inputUsdPerMillion(), m.outputUsdPerMillion(), m.tier()));
      }
    }
    return models;
  }

  /** The route names a request may ask for, in configuration order. */
  public List<String> routeNames() {
    return List.copyOf(catalog.routes().keySet());
  }

  public ProviderCatalog catalog() {
    return catalog;
  }

  public RouterSettings settings() {
    return settings;
  }

  /** Each provider actor's view of itself, in catalog order. */
  public CompletionStage<List<ProviderActor.Status>> status() {
    List<CompletableFuture<ProviderActor.Status>> asks = new ArrayList<>();
    for (Router.Endpoint e : endpoints) asks.add(status(e.settings().name()).toCompletableFuture());
    return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
        .thenApply(ignored -> asks.stream().map(CompletableFuture::join).toList());
  }

  public CompletionStage<ProviderActor.Status> status(String provider) {
    for (Router.Endpoint e : endpoints) {
      if (e.settings().name().equals(provider)) {
        return AskPattern.ask(e.actor(), ProviderActor.GetStatus::new, Duration.ofSeconds(5), system.scheduler());
      }
    }
    return CompletableFuture.failedFuture(new IllegalArgumentException("no provider " + provider));
  }

  /** Stops the provider actors; calls they still hold are answered UNAVAILABLE. */
  public void stop() {
    for (Router.Endpoint e : endpoints) e.actor().tell(ProviderActor.Stop.INSTANCE);
  }

  private Duration timeoutOf(LlmRequest request) {
    return request.timeout() != null ? request.timeout() : settings.defaultTimeout();
  }

  private CompletionStage<LlmResult> execute(LlmRequest request) {
    Duration timeout = timeoutOf(request);
    Instant deadline = clock.instant().plus(timeout);
    RouteSettings route = router.routeSettings(request.route());
    boolean cacheable = route != null && route.cache() && request.temperature() != null
        && request.temperature() == 0.0;
    String cacheKey = cacheable
        ? request.tenantId() + "|" + route.name() + "|" + RequestFingerprint.ofContent(request) : null;
    if (cacheKey != null) {
      LlmResult hit = responses.get(cacheKey, now());
      if (hit != null) {
        return CompletableFuture.completedFuture(
            new LlmResult(hit.text(), Usage.ZERO, hit.provider(), hit.model(), List.of(CACHE), hit.toolCalls()));
      }
    }
    return router.route(request, deadline).thenApply(routed -> {
      LlmResult result = resultOf(routed);
      if (cacheKey != null) responses.put(cacheKey, result, now());
      return result;
    });
  }

  /** The answer, priced with the serving model's list prices. */
  private static LlmResult resultOf(Router.Routed routed) {
    ProviderResponse r = routed.response();
    var usage = new Usage(r.tokensIn(), r.tokensOut(), routed.model().costMicros(r.tokensIn(), r.tokensOut()));
    return new LlmResult(r.text(), usage, routed.provider().name(), routed.model().name(), routed.tried(),
        r.toolCalls());
  }

  private CompletionStage<LlmResult> reuse(String key, Done done, String fingerprint) {
    if (!done.fingerprint().equals(fingerprint)) {
      return CompletableFuture.failedFuture(reused(key));
    }
    return CompletableFuture.completedFuture(done.result());
  }

  private static StepFailure reused(LlmRequest request) {
    return reused(request.idempotencyKey());
  }

  private static StepFailure reused(String key) {
    return new StepFailure(ErrorCode.INVALID_REQUEST.name(),
        "idempotency key " + key + " was already used for a different request", false);
  }

  private static Throwable unwrap(Throwable error) {
    return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
  }

  private long now() {
    Instant i = clock.instant();
    return i.getEpochSecond() * 1_000_000_000L + i.getNano();
  }
}
