package dev.orrery.router.actor;

import dev.orrery.core.Instrumentation;
import dev.orrery.core.port.DeltaSink;
import dev.orrery.core.port.TokenEstimate;
import dev.orrery.router.provider.ProviderAdapter;
import dev.orrery.router.provider.ProviderCall;
import dev.orrery.router.provider.ProviderException;
import dev.orrery.router.provider.ProviderException.Kind;
import dev.orrery.router.provider.ProviderResponse;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToIntFunction;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.cluster.typed.Unsubscribe;

/**
 * One provider endpoint on this node: everything between the router and the endpoint's adapter.
 *
 * <p><b>Admission.</b> A call that arrives while the circuit is open or a bucket cannot pay for it is
 * answered at once with {@link Kind#UNAVAILABLE}, so the router moves on instead of waiting. Otherwise
 * it is admitted into the queue, which takes one request token and the call's estimated tokens (a
 * queued call is a committed call: the buckets bound how fast calls are admitted, the concurrency limit
 * how fast they are sent).
 *
 * <p><b>Backpressure.</b> The queue holds at most {@code queue-size} calls. When it is full, a caller
 * is parked in a wait list and answered only when admitted and served, or when its deadline passes:
 * its reply, not a refusal, is what makes it wait, so nothing is dropped and the queue never grows past
 * its size. Parked callers cost one small entry each (the call they carry exists anyway), bounded by
 * {@code max-waiting} as a guard for the heap.
 *
 * <p><b>Fairness.</b> Both the wait list and the queue are {@link FairQueue}s: per-tenant FIFOs served
 * in weighted round-robin, so a single call of one tenant is admitted and sent within about one turn of
 * the tenants however many calls another tenant has waiting.
 *
 * <p><b>Attempts.</b> Up to {@code concurrency} attempts run at the adapter at once, each with a
 * timeout of {@code request-timeout} capped by what is left of the caller's deadline. A retryable
 * failure is retried after a random delay in [0, backoff·2^(n-1)] (full jitter), never before a 429's
 * Retry-After nor before the buckets could admit it again, and only while the deadline allows; a 429's
 * Retry-After also blocks the buckets (new callers are told UNAVAILABLE, queued calls wait for it). A
 * streaming call whose deltas already reached the caller is never retried: the caller would see the
 * text twice.
 */
public final class ProviderActor extends AbstractBehavior<ProviderActor.Command> {

  /**
   * A provider actor's messages. Provider actors exist per node and are only addressed from their own
   * JVM (by the router of the same node), so none of these carries the serialization marker.
   */
  public sealed interface Command {}

  /**
   * One call, answered with exactly one {@link Reply}. The call's timeout is replaced per attempt, and
   * its delta sink is guarded so that an abandoned attempt cannot write into it.
   *
   * @param tenant whose call it is, for the fair queues (null or blank: one shared anonymous tenant)
   * @param deadline when the caller stops waiting: the call is answered by then
   */
  public record Submit(String tenant, ProviderCall call, Instant deadline, ActorRef<Reply> replyTo)
      implements Command {
    public Submit {
      tenant = tenant == null ? "" : tenant;
      if (call == null || deadline == null || replyTo == null) {
        throw new IllegalArgumentException("call, deadline and replyTo are required");
      }
    }
  }

  /** The number of cluster members sharing this endpoint's limits changed (tests send it directly). */
  public record MembersChanged(int members) implements Command {
    public MembersChanged {
      if (members <= 0) throw new IllegalArgumentException("members must be > 0, was " + members);
    }
  }

  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  /** Stops the actor; every call it still holds is answered UNAVAILABLE. */
  public enum Stop implements Command { INSTANCE }

  private record MemberEventReceived(ClusterEvent.MemberEvent event) implements Command {}

  private record AttemptDone(long attempt, ProviderResponse response, Throwable failure) implements Command {}

  private record AttemptTimedOut(long attempt) implements Command {}

  private record RetryDue(long call) implements Command {}

  /** Time to look again: expire what waited past its deadline, resume after a Retry-After. */
  private enum Wake implements Command { INSTANCE }

  /** Time to sample the gauges: the queue, the calls in flight and the buckets (which refill between calls). */
  private enum Sample implements Command { INSTANCE }

  /** The one answer to a {@link Submit}: a result, never an exception thrown across threads. */
  public sealed interface Reply permits Served, Failed {}

  /** @param attempts how many attempts it took (1 = no retry) */
  public record Served(ProviderResponse response, int attempts) implements Reply {}

  /**
   * @param deltasDelivered whether part of a streamed answer already reached the caller's sink: then the
   *     call must not be repeated anywhere, or the caller would see text twice
   */
  public record Failed(ProviderException error, int attempts, boolean deltasDelivered) implements Reply {}

  /**
   * A view of the actor for tests, metrics and operators.
   *
   * @param requestsPerMinute this node's share of the request limit (0 = none)
   * @param tokensPerMinute this node's share of the token limit (0 = none)
   * @param maxQueued the most calls the queue ever held (never above queue-size)
   * @param maxWaiting the most callers ever parked waiting for room in the queue
   */
  public record Status(
      String provider,
      String breakerState,
      int queued,
      int waiting,
      int inFlight,
      int backingOff,
      int members,
      double requestsPerMinute,
      double tokensPerMinute,
      int maxQueued,
      int maxWaiting,
      long adapterCalls) {}

  /**
   * @param tenantWeight a tenant's weight in the fair queues' round-robin (at least 1)
   * @param followCluster whether to divide the limits by the cluster's members (when the actor system is
   *     a cluster); tests that set the count with {@link MembersChanged} turn it off
   */
  public record Setup(
      String name,
      ProviderLimits limits,
      ProviderAdapter adapter,
      ProviderStats stats,
      Clock clock,
      ToIntFunction<String> tenantWeight,
      boolean followCluster) {}

  /**
   * Callers' deadlines are seconds long, so finding an expired one a tenth of a second late does not
   * matter, and a sweep costs a pass over what waits.
   */
  private static final Duration SWEEP_INTERVAL = Duration.ofMillis(100);

  private static final String SWEEP = "sweep";
  private static final String RESUME = "resume";
  private static final String SAMPLE = "sample";
  /** Caps the backoff's exponent, so a large max-retries cannot overflow it. */
  private static final int MAX_BACKOFF_DOUBLINGS = 16;

  /** One call while this actor holds it. Mutable, and never leaves the actor. */
  private static final class Pending {
    final long id;
    final Submit submit;
    final long deadline;
    final long estimatedTokens;
    int attempts;
    boolean holdsRequestToken;
    long reservedTokens;
    ProviderException lastError;

    Pending(long id, Submit submit, long deadline, long estimatedTokens) {
      this.id = id;
      this.submit = submit;
      this.deadline = deadline;
      this.estimatedTokens = estimatedTokens;
    }
  }

  private record InFlight(Pending pending, long startedAt, Cancellable timer, GuardedSink sink) {}

  private final String name;
  private final ProviderLimits limits;
  private final ProviderAdapter adapter;
  private final ProviderStats stats;
  private final ProviderMetrics metrics;
  private final Clock clock;
  private final TimerScheduler<Command> timers;
  private final CircuitBreaker breaker;
  private final TokenBucket requests;
  private final TokenBucket tokens;
  private final FairQueue<Pending> queued;
  private final FairQueue<Pending> waiting;
  private final ArrayDeque<Pending> retryReady = new ArrayDeque<>();
  private final Map<Long, Pending> backingOff = new HashMap<>();
  private final Map<Long, InFlight> inFlight = new HashMap<>();
  private final Map<UniqueAddress, MemberStatus> memberStatus = new HashMap<>();
  private final SplittableRandom random = new SplittableRandom();
  private ActorRef<ClusterEvent.MemberEvent> clusterSubscriber;
  private int members = 1;
  /**
   * Ids of calls and attempts, unique across restarts of this actor: a late answer or timer of an
   * attempt from before a restart must never match a new attempt (it would hand one caller another's
   * answer).
   */
  private static final AtomicLong IDS = new AtomicLong();
  private long adapterCalls;
  private int maxQueuedSeen;
  private int maxWaitingSeen;
  private String breakerState;

  /**
   * Restarted on a bug rather than stopped: a stopped provider actor would leave every later caller
   * waiting for its deadline. Whatever it held when it failed is answered UNAVAILABLE first.
   */
  public static Behavior<Command> create(Setup setup) {
    return Behaviors.supervise(
            Behaviors.<Command>setup(ctx -> Behaviors.withTimers(timers -> new ProviderActor(ctx, timers, setup))))
        .onFailure(SupervisorStrategy.restart());
  }

  private ProviderActor(ActorContext<Command> ctx, TimerScheduler<Command> timers, Setup setup) {
    super(ctx);
    this.name = setup.name();
    this.limits = setup.limits();
    this.adapter = setup.adapter();
    this.stats = setup.stats();
    this.metrics = new ProviderMetrics(name);
    this.clock = setup.clock();
    this.timers = timers;
    this.breaker = CircuitBreaker.of(name, limits.breaker().toResilience4j(clock));
    this.breakerState = breaker.getState().name();
    long now = now();
    this.requests = new TokenBucket(limits.requestsPerMinute(), limits.rateBurst(), now);
    this.tokens = new TokenBucket(limits.tokensPerMinute(), limits.rateBurst(), now);
    this.queued = new FairQueue<>(setup.tenantWeight());
    this.waiting = new FairQueue<>(setup.tenantWeight());
    if (Instrumentation.enabled()) {
      metrics.sampled(0, 0, requests, tokens, now);
      timers.startTimerWithFixedDelay(SAMPLE, Sample.INSTANCE, sampleInterval(ctx.getSystem()));
    }
    if (setup.followCluster() && clustered(ctx.getSystem())) {
      clusterSubscriber = ctx.messageAdapter(ClusterEvent.MemberEvent.class, MemberEventReceived::new);
      Cluster.get(ctx.getSystem()).subscriptions()
          .tell(Subscribe.create(clusterSubscriber, ClusterEvent.MemberEvent.class));
    }
  }

  /** As often as the metrics registry takes its snapshots: sampling more often would show nothing more. */
  private static Duration sampleInterval(ActorSystem<?> system) {
    var config = system.settings().config();
    return config.hasPath("kamon.metric.tick-interval") ? config.getDuration("kamon.metric.tick-interval")
        : Duration.ofSeconds(10);
  }

  private static boolean clustered(ActorSystem<?> system) {
    String provider = system.settings().config().getString("pekko.actor.provider");
    return "cluster".equals(provider) || provider.endsWith(".ClusterActorRefProvider");
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Submit.class, this::onSubmit)
        .onMessage(AttemptDone.class, this::onAttemptDone)
        .onMessage(AttemptTimedOut.class, this::onAttemptTimedOut)
        .onMessage(RetryDue.class, this::onRetryDue)
        .onMessageEquals(Wake.INSTANCE, this::onWake)
        .onMessageEquals(Sample.INSTANCE, this::onSample)
        .onMessage(MembersChanged.class, m -> onMembers(m.members()))
        .onMessage(MemberEventReceived.class, this::onMemberEvent)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
        .onSignal(PostStop.class, signal -> release("provider actor stopped"))
        .onSignal(PreRestart.class, signal -> release("provider actor restarted after a failure"))
        .build();
  }

  // --- arrival and admission ---

  private Behavior<Command> onSubmit(Submit submit) {
    long now = now();
    ProviderCall call = submit.call();
    var p = new Pending(IDS.incrementAndGet(), submit, nanos(submit.deadline()),
        TokenEstimate.callTokens(call.messages(), call.maxTokens()));
    if (p.deadline <= now) {
      fail(p, timeout("the caller's deadline had passed when the call arrived"));
    } else if (waiting.isEmpty() && queued.size() < limits.queueSize()) {
      ProviderException refused = admit(p, now);
      if (refused != null) fail(p, refused); else enqueue(p);
    } else {
      // The queue is full: the caller waits, unless the endpoint could not take it anyway.
      ProviderException refused = gate(p, now);
      if (refused == null && waiting.size() >= limits.maxWaiting()) {
        refused = unavailable(waiting.size() + " callers already wait for room in the queue (max-waiting)", null);
      }
      if (refused != null) {
        fail(p, refused);
      } else {
        waiting.add(p.submit.tenant(), p);
        maxWaitingSeen = Math.max(maxWaitingSeen, waiting.size());
      }
    }
    pump(now);
    return this;
  }

  /** Why the endpoint cannot take this call now (circuit open, a bucket short), or null. Takes nothing. */
  private ProviderException gate(Pending p, long now) {
    if (!breakerPermits()) return unavailable("circuit breaker is " + breaker.getState(), null);
    if (!requests.available(1, now)) {
      return unavailable("no request left in this node's requests-per-minute share", requests.waitFor(1, now));
    }
    if (!tokens.available(p.estimatedTokens, now)) {
      return unavailable("no room for " + p.estimatedTokens + " tokens in this node's tokens-per-minute share",
          tokens.waitFor(p.estimatedTokens, now));
    }
    return null;
  }

  /** Admission asks the breaker without keeping its permission: each attempt takes its own. */
  private boolean breakerPermits() {
    boolean permitted = breaker.tryAcquirePermission();
    if (permitted) breaker.releasePermission();
    observeBreaker();
    return permitted;
  }

  /** Takes the call's request token and estimated tokens, or says why not. */
  private ProviderException admit(Pending p, long now) {
    ProviderException refused = gate(p, now);
    if (refused != null) return refused;
    requests.tryTake(1, now);
    tokens.tryTake(p.estimatedTokens, now);
    p.holdsRequestToken = true;
    p.reservedTokens = p.estimatedTokens;
    return null;
  }

  private void enqueue(Pending p) {
    queued.add(p.submit.tenant(), p);
    maxQueuedSeen = Math.max(maxQueuedSeen, queued.size());
  }

  /** Gives back what an admitted call reserved but will not use. */
  private void refund(Pending p) {
    if (p.holdsRequestToken) requests.give(1);
    tokens.give(p.reservedTokens);
    p.holdsRequestToken = false;
    p.reservedTokens = 0;
  }

  // --- dispatch ---

  /** Moves callers into the queue and calls to the adapter as far as room, slots and buckets allow. */
  private void pump(long now) {
    while (true) {
      promote(now);
      if (inFlight.size() >= limits.concurrency()) break;
      if (requests.blockedUntil() > now) {
        if (!queued.isEmpty() || !retryReady.isEmpty()) {
          timers.startSingleTimer(RESUME, Wake.INSTANCE, Duration.ofNanos(requests.blockedUntil() - now));
        }
        break;
      }
      Pending next = retryReady.isEmpty() ? queued.poll() : retryReady.pollFirst();
      if (next == null) break;
      start(next, now);
    }
    boolean somethingWaits = !queued.isEmpty() || !waiting.isEmpty() || !retryReady.isEmpty();
    if (somethingWaits && !timers.isTimerActive(SWEEP)) {
      timers.startTimerWithFixedDelay(SWEEP, Wake.INSTANCE, SWEEP_INTERVAL);
    } else if (!somethingWaits && timers.isTimerActive(SWEEP)) {
      timers.cancel(SWEEP);
    }
  }

  private void promote(long now) {
    while (queued.size() < limits.queueSize() && !waiting.isEmpty()) {
      Pending p = waiting.poll();
      ProviderException refused =
          p.deadline <= now ? timeout("waited for room in the queue past the caller's deadline") : admit(p, now);
      if (refused != null) fail(p, refused); else enqueue(p);
    }
  }

  private void start(Pending p, long now) {
    if (p.deadline <= now) {
      refund(p);
      fail(p, p.lastError != null ? p.lastError : timeout("waited in the queue past the caller's deadline"));
      return;
    }
    if (!breaker.tryAcquirePermission()) {
      observeBreaker();
      refund(p);
      fail(p, p.lastError != null ? p.lastError : unavailable("circuit breaker is " + breaker.getState(), null));
      return;
    }
    Duration remaining = Duration.ofNanos(p.deadline - now);
    Duration timeout = remaining.compareTo(limits.requestTimeout()) < 0 ? remaining : limits.requestTimeout();
    ProviderCall call = p.submit.call();
    GuardedSink sink = call.deltas() == null ? null : new GuardedSink(call.deltas());
    ProviderCall attempt = call.forAttempt(sink, timeout, p.attempts + 1);
    p.attempts++;
    p.holdsRequestToken = false; // spent: a request is being made
    long id = IDS.incrementAndGet();
    CompletionStage<ProviderResponse> answer;
    try {
      answer = adapter.call(attempt);
    } catch (RuntimeException e) {
      answer = CompletableFuture.failedFuture(e);
    }
    adapterCalls++;
    Cancellable timer = getContext().scheduleOnce(timeout, getContext().getSelf(), new AttemptTimedOut(id));
    inFlight.put(id, new InFlight(p, now, timer, sink));
    getContext().pipeToSelf(answer, (response, failure) -> new AttemptDone(id, response, failure));
  }

  // --- outcomes ---

  private Behavior<Command> onAttemptDone(AttemptDone done) {
    InFlight attempt = inFlight.remove(done.attempt());
    if (attempt == null) return this; // it answered after its timeout, which was already handled
    attempt.timer().cancel();
    long now = now();
    if (done.failure() == null && done.response() != null) {
      succeeded(attempt, done.response(), now);
    } else {
      failed(attempt, classify(done.failure()), now);
    }
    pump(now);
    return this;
  }

  private Behavior<Command> onAttemptTimedOut(AttemptTimedOut timedOut) {
    InFlight attempt = inFlight.remove(timedOut.attempt());
    if (attempt == null) return this;
    long now = now();
    failed(attempt, timeout("no answer within " + Duration.ofNanos(now - attempt.startedAt()).toMillis() + " ms"),
        now);
    pump(now);
    return this;
  }

  private void succeeded(InFlight attempt, ProviderResponse response, long now) {
    Pending p = attempt.pending();
    long latency = Math.max(0, now - attempt.startedAt());
    breaker.onSuccess(latency, TimeUnit.NANOSECONDS);
    observeBreaker();
    stats.recordSuccess(Duration.ofNanos(latency));
    metrics.succeeded(p.submit.call().model(), latency);
    long used = response.tokensIn() + response.tokensOut();
    if (used > 0) tokens.give(p.reservedTokens - used); // an answer without usage keeps the estimate charged
    p.reservedTokens = 0;
    if (attempt.sink() != null) attempt.sink().close();
    p.submit.replyTo().tell(new Served(response, p.attempts));
  }

  private void failed(InFlight attempt, ProviderException error, long now) {
    Pending p = attempt.pending();
    long latency = Math.max(0, now - attempt.startedAt());
    breaker.onError(latency, TimeUnit.NANOSECONDS, error);
    observeBreaker();
    metrics.failed(p.submit.call().model(), latency, error);
    if (error.kind() != Kind.CLIENT_ERROR) {
      stats.recordFailure(Duration.ofNanos(latency), error.kind() == Kind.TIMEOUT);
    }
    boolean delivered = attempt.sink() != null && attempt.sink().close();
    tokens.give(p.reservedTokens); // a failed attempt is not billed; a retry reserves again
    p.reservedTokens = 0;
    p.lastError = error;
    if (error.kind() == Kind.RATE_LIMITED && error.retryAfter() != null) {
      long until = now + error.retryAfter().toNanos();
      requests.blockUntil(until, now);
      tokens.blockUntil(until, now);
      getContext().getLog().info("provider {} answered 429: no calls before {} ms from now", name,
          error.retryAfter().toMillis());
      expire(now); // queued calls that cannot wait that long move on now
    }
    boolean retryable = error.retryable() && error.kind() != Kind.UNAVAILABLE && !delivered;
    if (retryable && p.attempts <= limits.maxRetries()) {
      Duration delay = backoff(p, error, now);
      if (now + delay.toNanos() < p.deadline) {
        backingOff.put(p.id, p);
        getContext().scheduleOnce(delay, getContext().getSelf(), new RetryDue(p.id));
        return;
      }
    }
    p.submit.replyTo().tell(new Failed(error, p.attempts, delivered));
  }

  /**
   * Full jitter (random in [0, backoff·2^(n-1)] after the n-th attempt), but never before a 429's
   * Retry-After nor before the buckets could admit the retry.
   */
  private Duration backoff(Pending p, ProviderException error, long now) {
    int doublings = Math.min(p.attempts - 1, MAX_BACKOFF_DOUBLINGS);
    long ceiling = limits.retryBackoff().toNanos() << doublings;
    long delay = random.nextLong(ceiling + 1);
    if (error.retryAfter() != null) delay = Math.max(delay, error.retryAfter().toNanos());
    delay = Math.max(delay, requests.waitFor(1, now).toNanos());
    delay = Math.max(delay, tokens.waitFor(p.estimatedTokens, now).toNanos());
    return Duration.ofNanos(delay);
  }

  private Behavior<Command> onRetryDue(RetryDue due) {
    Pending p = backingOff.remove(due.call());
    if (p == null) return this;
    long now = now();
    if (p.deadline <= now || admit(p, now) != null) {
      // Report the failure that made us retry: it says more than "no time left" or "circuit open".
      p.submit.replyTo().tell(new Failed(p.lastError, p.attempts, false));
    } else {
      retryReady.addLast(p);
    }
    pump(now);
    return this;
  }

  private ProviderException classify(Throwable failure) {
    Throwable cause = failure;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof ProviderException p) return p;
    if (cause == null) {
      return new ProviderException(name, Kind.MALFORMED_RESPONSE, 0, "the adapter answered neither a response nor an error");
    }
    // Not a provider's fault but the adapter's: log it loudly, and let the router try elsewhere.
    getContext().getLog().error("adapter of provider {} failed with an unexpected exception", name, cause);
    return new ProviderException(name, Kind.SERVER_ERROR, 0, null,
        "adapter failed: " + cause.getClass().getSimpleName() + ": " + cause.getMessage(), cause);
  }

  // --- time passing ---

  private Behavior<Command> onWake() {
    long now = now();
    expire(now);
    pump(now);
    return this;
  }

  /** Answers every waiting call that can no longer start before its deadline. */
  private void expire(long now) {
    long startable = Math.max(now, requests.blockedUntil());
    queued.removeIf(p -> p.deadline <= startable, p -> {
      refund(p);
      fail(p, p.deadline <= now ? timeout("waited in the queue past the caller's deadline")
          : unavailable("rate-limited by the provider until after the caller's deadline",
              Duration.ofNanos(startable - now)));
    });
    waiting.removeIf(p -> p.deadline <= now,
        p -> fail(p, timeout("waited for room in the queue past the caller's deadline")));
    // Calls whose backoff is over but that found every slot busy: answered here, not left to the
    // router's own deadline (which would report a silent provider actor instead).
    retryReady.removeIf(p -> {
      if (p.deadline > now) return false;
      refund(p);
      fail(p, timeout("waited for a free slot to retry past the caller's deadline"));
      return true;
    });
  }

  private Behavior<Command> onSample() {
    int held = queued.size() + waiting.size() + retryReady.size() + backingOff.size();
    metrics.sampled(held, inFlight.size(), requests, tokens, now());
    return this;
  }

  // --- cluster share ---

  private Behavior<Command> onMemberEvent(MemberEventReceived received) {
    Member member = received.event().member();
    if (received.event() instanceof ClusterEvent.MemberRemoved) {
      memberStatus.remove(member.uniqueAddress());
    } else {
      memberStatus.put(member.uniqueAddress(), member.status());
    }
    // Leaving members still serve until they exit; joining ones do not serve yet.
    int serving = (int) memberStatus.values().stream()
        .filter(s -> s.equals(MemberStatus.up()) || s.equals(MemberStatus.weaklyUp()) || s.equals(MemberStatus.leaving()))
        .count();
    return onMembers(Math.max(1, serving));
  }

  private Behavior<Command> onMembers(int count) {
    if (count != members) {
      members = count;
      long now = now();
      requests.resize((double) limits.requestsPerMinute() / count, now);
      tokens.resize((double) limits.tokensPerMinute() / count, now);
      getContext().getLog().info("provider {}: {} members share its limits; this node takes {} requests/min, {} tokens/min",
          name, count, requests.perMinute(), tokens.perMinute());
      pump(now);
    }
    return this;
  }

  // --- status and stop ---

  private Behavior<Command> onGetStatus(GetStatus get) {
    get.replyTo().tell(new Status(name, breaker.getState().name(), queued.size(), waiting.size(), inFlight.size(),
        backingOff.size() + retryReady.size(), members, requests.perMinute(), tokens.perMinute(), maxQueuedSeen,
        maxWaitingSeen, adapterCalls));
    return this;
  }

  /** Answers every call held, so none waits for its deadline on an actor that is going away. */
  private Behavior<Command> release(String why) {
    ProviderException stopped = unavailable(why, null);
    List<Pending> held = new ArrayList<>();
    waiting.drain(held::add);
    queued.drain(held::add);
    held.addAll(retryReady);
    held.addAll(backingOff.values());
    for (InFlight attempt : inFlight.values()) {
      attempt.timer().cancel();
      if (attempt.sink() != null) attempt.sink().close();
      held.add(attempt.pending());
    }
    for (Pending p : held) fail(p, stopped);
    if (clusterSubscriber != null) {
      Cluster.get(getContext().getSystem()).subscriptions().tell(new Unsubscribe<>(clusterSubscriber));
    }
    return this;
  }

  // --- helpers ---

  private void fail(Pending p, ProviderException error) {
    p.submit.replyTo().tell(new Failed(error, p.attempts, false));
  }

  private void observeBreaker() {
    String state = breaker.getState().name();
    if (!state.equals(breakerState)) {
      if (breaker.getState() == CircuitBreaker.State.OPEN) {
        getContext().getLog().warn("circuit breaker of provider {} opened (failure rate {}%, slow calls {}%)", name,
            breaker.getMetrics().getFailureRate(), breaker.getMetrics().getSlowCallRate());
      } else {
        getContext().getLog().info("circuit breaker of provider {}: {} -> {}", name, breakerState, state);
      }
      breakerState = state;
      stats.breakerState(state);
      metrics.circuit(breaker.getState());
    }
  }

  private ProviderException unavailable(String message, Duration retryAfter) {
    return new ProviderException(name, Kind.UNAVAILABLE, 0, retryAfter, message, null);
  }

  private ProviderException timeout(String message) {
    return new ProviderException(name, Kind.TIMEOUT, 0, message);
  }

  private long now() {
    return nanos(clock.instant());
  }

  private static long nanos(Instant instant) {
    return instant.getEpochSecond() * 1_000_000_000L + instant.getNano();
  }

  /**
   * Passes deltas to the caller's sink until the attempt ends, and remembers whether any passed: after
   * that the call cannot be repeated without the caller seeing text twice.
   */
  private static final class GuardedSink implements DeltaSink {
    private static final int CLEAN = 0;
    private static final int DELIVERED = 1;
    private static final int CLOSED = 2;

    private final DeltaSink target;
    private final AtomicInteger state = new AtomicInteger(CLEAN);

    GuardedSink(DeltaSink target) {
      this.target = target;
    }

    @Override
    public void onDelta(String text) {
      int s = state.get();
      while (s == CLEAN && !state.compareAndSet(CLEAN, DELIVERED)) s = state.get();
      if (s != CLOSED) target.onDelta(text);
    }

    /** Ends the attempt; answers whether any delta reached the caller. */
    boolean close() {
      return state.getAndSet(CLOSED) == DELIVERED;
    }
  }
}
