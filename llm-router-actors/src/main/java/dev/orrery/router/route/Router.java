package dev.orrery.router.route;

import dev.orrery.core.ErrorCode;
import dev.orrery.core.Instrumentation;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.RouteDefinition;
import dev.orrery.core.port.StepFailure;
import dev.orrery.router.actor.ProviderActor;
import dev.orrery.router.actor.ProviderStats;
import dev.orrery.core.port.TokenEstimate;
import dev.orrery.router.provider.ProviderCall;
import dev.orrery.router.provider.ProviderException;
import dev.orrery.router.provider.ProviderException.Kind;
import dev.orrery.router.provider.ProviderResponse;
import io.opentelemetry.api.trace.Span;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;
import kamon.Kamon;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * Sends a call along a route: picks the candidates (the route's providers that serve the pinned model,
 * or that have a model of the route's tier), lets the route's policy order them, and asks each
 * provider actor in turn until one serves. A failure that another provider may not have (unavailable,
 * rate-limited, 5xx, timeout) moves the call on; a client error does not, since the request itself is
 * wrong. Stages fail with {@link StepFailure} in the edge's vocabulary.
 *
 * <p><b>Pinned routes.</b> A run records each node's route as it was when the run started
 * ({@link #definition}) and its calls carry it ({@link LlmRequest#pinnedRoute()}). A call whose pinned
 * definition differs from the route as configured here is served over the pinned one: its policy, its
 * tier, and its candidates whose providers (and models) this node has; a pinned provider or model this
 * node no longer has is left out, and when none is left the call takes the route as configured here.
 * Prices, limits and breakers are always this node's.
 *
 * <p>A plain object rather than an actor: it holds no state of its own beyond the providers' stats,
 * which their actors publish, so an actor would only serialize calls that need no ordering.
 */
public final class Router {
  /**
   * Extra time, past the caller's deadline, before an ask gives up on a provider actor: the actor
   * answers by the deadline itself, so the ask's own timeout only catches an actor that is gone.
   */
  private static final Duration ASK_GRACE = Duration.ofSeconds(2);

  /** A provider endpoint as the router sees it: its settings, its actor and its stats. */
  public record Endpoint(ProviderSettings settings, ActorRef<ProviderActor.Command> actor, ProviderStats stats) {}

  /**
   * A served call.
   *
   * @param tried the providers asked, in order; the last served
   */
  public record Routed(ProviderResponse response, ProviderSettings provider, ModelSettings model, List<String> tried) {}

  private record Route(RouteSettings settings, RoutePolicy policy) {}

  /** Whom a call may go to, and the policy that orders them. */
  private record Selection(RoutePolicy policy, List<Candidate> candidates) {}

  /** Each route's definition for calls that pin no model (a route's definition never changes on a node). */
  private final Map<String, Optional<RouteDefinition>> definitions = new ConcurrentHashMap<>();

  private final Map<String, Endpoint> endpoints = new LinkedHashMap<>();
  private final Map<String, Route> routes = new LinkedHashMap<>();
  private final Scheduler scheduler;
  private final Executor executor;
  private final Clock clock;
  private final Supplier<RandomGenerator> random;

  /**
   * @param endpoints in catalog order
   * @param executor where the router continues after a provider answers: never the common pool
   * @param random a random source per call (policies that draw use it)
   */
  public Router(List<Endpoint> endpoints, Collection<RouteSettings> routes, Scheduler scheduler, Executor executor,
      Clock clock, Supplier<RandomGenerator> random) {
    for (Endpoint e : endpoints) this.endpoints.put(e.settings().name(), e);
    for (RouteSettings r : routes) this.routes.put(r.name(), new Route(r, RoutePolicy.of(r)));
    this.scheduler = scheduler;
    this.executor = executor;
    this.clock = clock;
    this.random = random;
  }

  /** The route a request names (null: {@code default}), or null when there is none by that name. */
  public RouteSettings routeSettings(String name) {
    Route r = routes.get(name == null ? ProviderCatalog.DEFAULT_ROUTE : name);
    return r == null ? null : r.settings();
  }

  /**
   * Routes one call. The first provider is asked before this method returns (on the caller's thread),
   * so calls made one after another reach their first provider in that order.
   */
  public CompletionStage<Routed> route(LlmRequest request, Instant deadline) {
    List<Candidate> order;
    try {
      order = candidates(request);
    } catch (StepFailure invalid) {
      return CompletableFuture.failedFuture(invalid);
    }
    return new Attempts(request, deadline, order).next();
  }

  /** The candidates in the order the route's policy would try them now. */
  List<Candidate> candidates(LlmRequest request) {
    Selection s = selection(request);
    return s.policy().order(s.candidates(), random.get());
  }

  /**
   * The route a call naming {@code routeName} and {@code model} takes on this node, as data: what a run
   * pins. Null when the route is unknown or no provider of it serves.
   */
  public RouteDefinition definition(String routeName, String model) {
    String name = routeName == null ? ProviderCatalog.DEFAULT_ROUTE : routeName;
    if (!routes.containsKey(name)) return null; // never cached: the names come from workflows
    if (model != null) return describe(name, routeName == null, model);
    return definitions.computeIfAbsent(name, n -> Optional.ofNullable(describe(n, routeName == null, null))).orElse(null);
  }

  private RouteDefinition describe(String name, boolean unnamed, String model) {
    Route route = routes.get(name);
    if (route == null) return null;
    RouteSettings r = route.settings();
    boolean weighted = r.policy() == RouteSettings.Policy.WEIGHTED;
    List<RouteDefinition.Candidate> candidates = new ArrayList<>();
    for (String provider : r.providers()) {
      ProviderSettings p = endpoints.get(provider).settings();
      Double weight = weighted ? Double.valueOf(r.weight(provider)) : null;
      if (model != null) {
        ModelSettings m = p.serving(model);
        if (m != null) candidates.add(new RouteDefinition.Candidate(provider, m.name(), weight));
        continue;
      }
      for (ModelSettings m : modelsPolicyMayPick(route, p)) {
        candidates.add(new RouteDefinition.Candidate(provider, m.name(), weight));
      }
    }
    if (candidates.isEmpty() && model != null && unnamed) {
      // As a call does: a pinned model outside the default route's providers goes to any that serves it.
      for (Endpoint e : endpoints.values()) {
        ModelSettings m = e.settings().serving(model);
        if (m != null) candidates.add(new RouteDefinition.Candidate(e.settings().name(), m.name(), null));
      }
    }
    if (candidates.isEmpty()) return null;
    return new RouteDefinition(name, model, policyName(r.policy()), r.tier(), candidates);
  }

  /**
   * The models of a provider the route's policy may ask for when a call pins none: the first of the
   * route's tier, or for {@code cost-aware}, which picks the cheapest for each call's size, every one of it.
   */
  private static List<ModelSettings> modelsPolicyMayPick(Route route, ProviderSettings provider) {
    int tier = route.settings().tier();
    if (route.settings().policy() != RouteSettings.Policy.COST_AWARE) {
      ModelSettings m = route.policy().model(provider, tier, 0, 0);
      return m == null ? List.of() : List.of(m);
    }
    return provider.models().stream().filter(m -> m.tier() >= tier).toList();
  }

  static String policyName(RouteSettings.Policy policy) {
    return policy.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * The pinned route when the call carries one that differs from this node's route and this node can
   * serve some of it; otherwise the route as configured here.
   */
  private Selection selection(LlmRequest request) {
    RouteDefinition pinned = request.pinnedRoute();
    if (pinned != null && !pinned.equals(definition(request.route(), request.model()))) {
      Selection s = pinnedSelection(pinned, request);
      if (s != null) return s;
    }
    Route route = routeOf(request);
    return new Selection(route.policy(), eligibleNow(route, request));
  }

  /** The pinned definition over this node's providers, or null when it has none of its candidates. */
  private Selection pinnedSelection(RouteDefinition pinned, LlmRequest request) {
    Map<String, List<String>> modelsByProvider = new LinkedHashMap<>();
    Map<String, Double> weights = new LinkedHashMap<>();
    for (RouteDefinition.Candidate c : pinned.candidates()) {
      if (!endpoints.containsKey(c.provider())) continue;
      modelsByProvider.computeIfAbsent(c.provider(), k -> new ArrayList<>()).add(c.model());
      if (c.weight() != null) weights.put(c.provider(), c.weight());
    }
    if (modelsByProvider.isEmpty()) return null;
    RouteSettings settings;
    try {
      settings = new RouteSettings(pinned.route(), RouteSettings.Policy.parse(pinned.route(), pinned.policy()),
          List.copyOf(modelsByProvider.keySet()), weights, pinned.tier(), false);
    } catch (IllegalArgumentException unusable) {
      return null; // e.g. weighted, and only weight-0 providers are left here
    }
    RoutePolicy policy = RoutePolicy.of(settings);
    long promptTokens = TokenEstimate.promptTokens(request.messages());
    List<Candidate> candidates = new ArrayList<>();
    modelsByProvider.forEach((name, models) -> {
      Endpoint e = endpoints.get(name);
      List<ModelSettings> served = new ArrayList<>();
      for (String m : models) {
        ModelSettings s = e.settings().serving(m);
        if (s != null) served.add(s);
      }
      if (served.isEmpty()) return;
      ModelSettings model = request.model() != null ? served.get(0)
          : policy.model(e.settings().withModels(served), settings.tier(), promptTokens, request.maxTokens());
      if (model != null) candidates.add(candidate(e, model, promptTokens, request.maxTokens()));
    });
    return candidates.isEmpty() ? null : new Selection(policy, candidates);
  }

  private Route routeOf(LlmRequest request) {
    String routeName = request.route() == null ? ProviderCatalog.DEFAULT_ROUTE : request.route();
    Route route = routes.get(routeName);
    if (route == null) {
      throw invalid("unknown route '" + routeName + "' (routes: " + String.join(", ", routes.keySet()) + ")");
    }
    return route;
  }

  /**
   * The providers and models that may serve a call, in no particular order: what its estimate is priced
   * from (without the policy's ordering, which may draw random numbers, on every call's path).
   */
  List<Candidate> eligible(LlmRequest request) {
    return selection(request).candidates();
  }

  private List<Candidate> eligibleNow(Route route, LlmRequest request) {
    String routeName = route.settings().name();
    long promptTokens = TokenEstimate.promptTokens(request.messages());
    List<Candidate> candidates = new ArrayList<>();
    for (String name : route.settings().providers()) {
      Endpoint e = endpoints.get(name);
      ModelSettings model = request.model() != null
          ? e.settings().serving(request.model())
          : route.policy().model(e.settings(), route.settings().tier(), promptTokens, request.maxTokens());
      if (model != null) candidates.add(candidate(e, model, promptTokens, request.maxTokens()));
    }
    if (candidates.isEmpty() && request.model() != null && request.route() == null) {
      // A pinned model outside the default route's providers: any provider that serves it.
      for (Endpoint e : endpoints.values()) {
        ModelSettings model = e.settings().serving(request.model());
        if (model != null) candidates.add(candidate(e, model, promptTokens, request.maxTokens()));
      }
    }
    if (candidates.isEmpty()) {
      throw invalid(request.model() != null
          ? "no provider " + (request.route() == null ? "" : "of route '" + routeName + "' ") + "serves model '"
              + request.model() + "'"
          : "no provider of route '" + routeName + "' has a model of tier " + route.settings().tier() + " or better");
    }
    return candidates;
  }

  private static Candidate candidate(Endpoint e, ModelSettings model, long promptTokens, int maxTokens) {
    return new Candidate(e.settings(), model, e.stats().snapshot(), model.costMicros(promptTokens, maxTokens));
  }

  /** One call's way along its candidates. Its steps run one after another, never at once. */
  private final class Attempts {
    private final LlmRequest request;
    private final Instant deadline;
    private final List<Candidate> order;
    private final List<String> tried = new ArrayList<>();
    private final List<ProviderException> failures = new ArrayList<>();
    private int next;

    Attempts(LlmRequest request, Instant deadline, List<Candidate> order) {
      this.request = request;
      this.deadline = deadline;
      this.order = order;
    }

    CompletionStage<Routed> next() {
      if (next == order.size()) return CompletableFuture.failedFuture(allFailed(false));
      Duration remaining = Duration.between(clock.instant(), deadline);
      if (remaining.isNegative() || remaining.isZero()) return CompletableFuture.failedFuture(allFailed(true));
      Candidate c = order.get(next++);
      tried.add(c.provider().name());
      ProviderCall call = new ProviderCall(c.model().name(), request.messages(), request.maxTokens(),
          request.temperature(), request.outputSchema(), request.tools(), request.deltas(), remaining,
          request.idempotencyKey());
      Endpoint endpoint = endpoints.get(c.provider().name());
      Span span = LlmSpans.start(request, c.provider(), c.model(), tried.size());
      CompletionStage<ProviderActor.Reply> reply = AskPattern.ask(endpoint.actor(),
          replyTo -> new ProviderActor.Submit(request.tenantId(), call, deadline, replyTo),
          remaining.plus(ASK_GRACE), scheduler);
      return reply
          .handleAsync((answer, error) -> onReply(c, answer != null ? answer : noAnswer(c, error), span), executor)
          .thenCompose(Function.identity());
    }

    private ProviderActor.Reply noAnswer(Candidate c, Throwable error) {
      return new ProviderActor.Failed(new ProviderException(c.provider().name(), Kind.TIMEOUT, 0, null,
          "its provider actor did not answer: " + error, error), 0, false);
    }

    private CompletionStage<Routed> onReply(Candidate c, ProviderActor.Reply answer, Span span) {
      if (answer instanceof ProviderActor.Served served) {
        LlmSpans.served(span, c.model(), served.response());
        // Served by a later candidate than the first: the route fell back (llm_fallbacks_total{from,to}, by
        // configured provider names: a route's name is the caller's text).
        if (tried.size() > 1 && Instrumentation.enabled()) {
          Kamon.counter("llm.fallbacks").withTag("from", tried.get(0)).withTag("to", c.provider().name()).increment();
        }
        return CompletableFuture.completedFuture(new Routed(served.response(), c.provider(), c.model(), List.copyOf(tried)));
      }
      ProviderActor.Failed failed = (ProviderActor.Failed) answer;
      LlmSpans.failed(span, failed.error());
      failures.add(failed.error());
      if (failed.error().kind() == Kind.CLIENT_ERROR) {
        return CompletableFuture.failedFuture(invalid("the request was refused by " + describe(failed.error())));
      }
      if (failed.deltasDelivered()) {
        // Part of the answer already reached the caller: another provider would write it a second time.
        return CompletableFuture.failedFuture(new StepFailure(ErrorCode.PROVIDER_UNAVAILABLE.name(),
            "the stream broke after part of the answer was delivered: " + describe(failed.error()), true));
      }
      return next();
    }

    /** All tried providers failed, or time ran out before the next could be tried. */
    private StepFailure allFailed(boolean deadlinePassed) {
      String why = failures.stream().map(Router::describe).collect(Collectors.joining("; "));
      String route = request.route() == null ? ProviderCatalog.DEFAULT_ROUTE : request.route();
      boolean allTimedOut = !failures.isEmpty() && failures.stream().allMatch(f -> f.kind() == Kind.TIMEOUT);
      if (deadlinePassed || allTimedOut) {
        return new StepFailure(ErrorCode.TIMEOUT.name(), "no provider of route '" + route + "' answered in time"
            + (tried.isEmpty() ? "" : " (tried " + String.join(", ", tried) + ": " + why + ")"), true);
      }
      return new StepFailure(ErrorCode.PROVIDER_UNAVAILABLE.name(),
          "every provider of route '" + route + "' failed (tried " + String.join(", ", tried) + ": " + why + ")", true);
    }
  }

  /** "openai: HTTP 503 … [SERVER_ERROR]": the exception's message already names the provider. */
  static String describe(ProviderException e) {
    return e.getMessage() + " [" + e.kind() + (e.httpStatus() > 0 ? " " + e.httpStatus() : "") + "]";
  }

  private static StepFailure invalid(String message) {
    return new StepFailure(ErrorCode.INVALID_REQUEST.name(), message, false);
  }
}
