package dev.orrery.core.run;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.JsonSerializable;
import dev.orrery.core.plan.Planner;
import dev.orrery.core.port.AgentPort;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.DeltaSink;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.LlmResult;
import dev.orrery.core.port.RouteDefinition;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.port.ToolInvocation;
import dev.orrery.core.port.ToolPort;
import dev.orrery.core.port.Usage;
import dev.orrery.core.run.RunEvent.ApprovalRequested;
import dev.orrery.core.run.RunEvent.BudgetExhausted;
import dev.orrery.core.run.RunEvent.RunAccepted;
import dev.orrery.core.run.RunEvent.RunCancelled;
import dev.orrery.core.run.RunEvent.RunCompleted;
import dev.orrery.core.run.RunEvent.RunFailed;
import dev.orrery.core.run.RunEvent.StepRetryScheduled;
import dev.orrery.core.run.RunEvent.StepScheduled;
import dev.orrery.core.trace.RunTrace;
import dev.orrery.core.workflow.CompiledWorkflow;
import dev.orrery.core.workflow.EvalContext;
import dev.orrery.core.workflow.NodeSpec;
import dev.orrery.core.workflow.Problem;
import dev.orrery.core.workflow.WorkflowException;
import dev.orrery.core.workflow.WorkflowSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.slf4j.MDC;

/**
 * One run of a workflow, event-sourced and sharded as {@code run|<tenantId>|<runId>}. The command
 * handlers decide — they ask the pure {@link Planner} what is ready, read the clock, draw the retry
 * jitter — and persist the decision; the event handler only folds ({@link RunState#apply}). Each
 * scheduled step runs in a child {@link StepActor}; after a crash the recovered run starts a new step
 * actor for every step that was scheduled but not finished, with the same idempotency key.
 */
public final class RunEntity extends EventSourcedBehaviorWithEnforcedReplies<RunEntity.Command, RunEvent, RunState> {

  public static final EntityTypeKey<Command> KEY = EntityTypeKey.create(Command.class, "run");

  private static final int DEFAULT_MAX_TOKENS = 1024;
  private static final String DEFAULT_ROUTE = "default";
  private static final Duration STEP_TIMER_GRACE = Duration.ofSeconds(2);
  /** Timer keys; node ids are free text, so retry timers get a prefix no run-level timer uses. */
  private static final String DEADLINE_TIMER = "run:deadline";
  private static final String RETRY_TIMER = "retry:";
  private static final String BUDGET_TIMER = "budget:";
  private static final String APPROVAL_TIMER = "approval:";
  /**
   * Prompts are never logged unless this logger is set to DEBUG ({@code ORRERY_LOG_PROMPTS=DEBUG}): they are a
   * tenant's data, kept in the journal.
   */
  private static final org.slf4j.Logger PROMPTS = org.slf4j.LoggerFactory.getLogger("dev.orrery.prompts");
  /** Who decided an approval whose deadline passed. */
  public static final String DEADLINE = "deadline";

  /**
   * What a run needs from its node: the LLM port, the clock, settings, the shared workflow cache, a
   * listener, and the tool and agent ports ({@code tool} and {@code agent} steps fail on a node without
   * them).
   */
  public record Setup(LlmPort llm, Clock clock, RunSettings settings, WorkflowCache workflows, RunListener listener,
      ToolPort tools, AgentPort agents) {
    public Setup {
      if (listener == null) listener = RunListener.NONE;
    }

    public Setup(LlmPort llm, Clock clock, RunSettings settings, WorkflowCache workflows, RunListener listener) {
      this(llm, clock, settings, workflows, listener, null, null);
    }

    public Setup(LlmPort llm, Clock clock, RunSettings settings, WorkflowCache workflows) {
      this(llm, clock, settings, workflows, RunListener.NONE, null, null);
    }
  }

  // ---- protocol --------------------------------------------------------------------------------------

  public sealed interface Command extends JsonSerializable {}

  /**
   * Start the run; answered with the run (also when it was already started with the same request).
   * {@code fork} is set when the run is a fork of another, and {@code inherited} then holds the original's
   * pins, which the fork keeps for every node whose agent, route and model it does not change; other
   * runs (null) pin what is current. {@code traceparent} is the submitting request's span (W3C), which the
   * run's trace continues; null starts a new trace.
   */
  public record Start(
      WorkflowSpec spec,
      Map<String, Object> inputs,
      String idempotencyKey,
      String requestHash,
      ForkOrigin fork,
      RunPins inherited,
      String traceparent,
      ActorRef<StatusReply<Started>> replyTo) implements Command {

    public Start(WorkflowSpec spec, Map<String, Object> inputs, String idempotencyKey, String requestHash,
        ForkOrigin fork, RunPins inherited, ActorRef<StatusReply<Started>> replyTo) {
      this(spec, inputs, idempotencyKey, requestHash, fork, inherited, null, replyTo);
    }

    public Start(WorkflowSpec spec, Map<String, Object> inputs, String idempotencyKey, String requestHash,
        ForkOrigin fork, ActorRef<StatusReply<Started>> replyTo) {
      this(spec, inputs, idempotencyKey, requestHash, fork, null, null, replyTo);
    }

    public Start(WorkflowSpec spec, Map<String, Object> inputs, String idempotencyKey, String requestHash,
        ActorRef<StatusReply<Started>> replyTo) {
      this(spec, inputs, idempotencyKey, requestHash, null, null, null, replyTo);
    }
  }

  /** The versions of a starting run's agents were read (or could not be): now it is accepted or refused. */
  private record AgentsResolved(Start start, Map<String, Integer> versions, Throwable failure) implements Command {}

  public record Started(
      @JsonProperty("run") RunView run,
      @JsonProperty("created") boolean created) implements JsonSerializable {}

  public record Get(ActorRef<StatusReply<RunView>> replyTo) implements Command {}

  /** The state itself with the sequence number of the last event folded into it (time travel compares). */
  public record GetState(ActorRef<StatusReply<StateAt>> replyTo) implements Command {}

  public record StateAt(@JsonProperty("seq") long seq, @JsonProperty("state") RunState state)
      implements JsonSerializable {}

  /** A person's decision on an approval node; {@code by} names who decided (their key or token subject). */
  public record Decide(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("approve") boolean approve,
      @JsonProperty("by") String by,
      @JsonProperty("comment") String comment,
      @JsonProperty("reply_to") ActorRef<StatusReply<RunView>> replyTo) implements Command {}

  /** An approval node's {@code timeout_ms} has passed: its default decision is taken. */
  public record ApprovalDeadline(@JsonProperty("node_id") String nodeId) implements Command {}

  public record Cancel(String reason, ActorRef<StatusReply<RunView>> replyTo) implements Command {}

  /** A step actor's report; the run persists it unless it is about an attempt it no longer waits for. */
  public record StepDone(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("item") Integer item,
      @JsonProperty("attempt") int attempt,
      @JsonProperty("outcome") StepOutcome outcome) implements Command {}

  public record StepOutcome(
      @JsonProperty("output") Object output,
      @JsonProperty("usage") Usage usage,
      @JsonProperty("provider") String provider,
      @JsonProperty("model") String model,
      @JsonProperty("tried") List<String> tried,
      @JsonProperty("error") RunError error,
      @JsonProperty("retryable") boolean retryable) implements JsonSerializable {

    public StepOutcome(Object output, Usage usage, String provider, String model, RunError error, boolean retryable) {
      this(output, usage, provider, model, null, error, retryable);
    }

    static StepOutcome success(Object output, LlmResult result) {
      return new StepOutcome(output, result.usage() == null ? Usage.ZERO : result.usage(), result.provider(),
          result.model(), result.tried(), null, false);
    }

    static StepOutcome failure(String code, String message, boolean retryable) {
      return new StepOutcome(null, null, null, null, null, RunError.of(code, message), retryable);
    }

    /** A failure after a provider answered (and charged): its usage still counts. */
    static StepOutcome failureAfterCall(String code, String message, LlmResult result) {
      return new StepOutcome(null, result.usage() == null ? Usage.ZERO : result.usage(), result.provider(),
          result.model(), result.tried(), RunError.of(code, message), true);
    }

    boolean succeeded() {
      return error == null;
    }
  }

  /** A retry's backoff has passed. */
  public record RetryDue(@JsonProperty("step") String stepKey, @JsonProperty("attempt") int attempt)
      implements Command {}

  /**
   * A step actor stopped. After its report this is nothing; without one (it died), a step the run still
   * waits for fails, and one waiting for budget tries again later.
   */
  public record StepStopped(
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("item") Integer item,
      @JsonProperty("attempt") int attempt) implements Command {}

  /** A step waiting for budget may try again. */
  public record BudgetRetryDue(@JsonProperty("step") String stepKey, @JsonProperty("attempt") int attempt)
      implements Command {}

  /**
   * Someone watches this run live: publish its events (and token deltas) on its topic for {@code ttl}.
   * Answered with where the journal is, so the watcher can read what the topic did not bring.
   */
  public record Watch(@JsonProperty("ttl") Duration ttl, @JsonProperty("reply_to") ActorRef<Watching> replyTo)
      implements Command {}

  public record Watching(
      @JsonProperty("tenant_id") String tenantId,
      @JsonProperty("run_id") String runId,
      @JsonProperty("last_seq") long lastSeq,
      @JsonProperty("finished") boolean finished) implements JsonSerializable {}

  /** The run's own {@code timeout_ms} has passed. */
  public enum DeadlinePassed implements Command { INSTANCE }

  /** Nothing happened for {@code idle-timeout}: a finished (or never started) run leaves memory. */
  public enum Idle implements Command { INSTANCE }

  /** Sharding's stop message: the entity stops after what it is persisting. */
  public enum Passivate implements Command { INSTANCE }

  // ---- wiring ----------------------------------------------------------------------------------------

  public static void init(ActorSystem<?> system, Setup setup) {
    ClusterSharding.get(system).init(Entity.of(KEY, ctx -> create(ctx.getEntityId(), setup, ctx.getShard()))
        .withStopMessage(Passivate.INSTANCE));
  }

  /** @param shard the shard to ask for passivation, or null outside sharding (tests) */
  public static Behavior<Command> create(
      String entityId, Setup setup, ActorRef<ClusterSharding.ShardCommand> shard) {
    return Behaviors.setup(ctx -> new RunEntity(entityId, setup, shard, ctx));
  }

  private final String tenantId;
  private final String runId;
  private final Setup setup;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final ActorContext<Command> ctx;
  /**
   * Keyed timers (retry backoffs, the run's deadline). Not {@code Behaviors.withTimers}: its interceptor
   * hides the entity from the persistence testkit. Side-effect bookkeeping only, never state.
   */
  private final Map<String, Cancellable> timers = new HashMap<>();
  /**
   * The run's own token budget, reserved like a tenant's: each step out holds its call's estimate here
   * until it reports. Not state: a recovered run re-dispatches its steps, which reserve again.
   */
  private final Map<String, Long> heldTokens = new HashMap<>();
  /** Makes each step actor's name unique: a step waiting for budget runs its same attempt again. */
  private long spawned;
  /** Starts waiting for their agents' versions: an entity with one pending does not passivate. */
  private int resolving;
  /** The run's live topic: publishes only while watched. Side effects only, never state. */
  private final RunLive live;

  private RunEntity(String entityId, Setup setup, ActorRef<ClusterSharding.ShardCommand> shard,
      ActorContext<Command> ctx) {
    super(RunIds.persistenceId(entityId));
    this.tenantId = RunIds.tenantOf(entityId);
    this.runId = RunIds.runIdOf(entityId);
    this.setup = setup;
    this.shard = shard;
    this.ctx = ctx;
    this.live = new RunLive(ctx, tenantId, runId, setup.clock());
  }

  @Override
  public RunState emptyState() {
    return RunState.empty(tenantId, runId);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(setup.settings().snapshotEvery(), 2);
  }

  @Override
  public boolean shouldSnapshot(RunState state, RunEvent event, long sequenceNr) {
    // A finished run is read far more often than it is written: recover it from one snapshot. Pekko asks
    // with the state after the event when one event is persisted, but with the state before it when
    // several are (a step's success and the run's end go together): the terminal event decides either way.
    return state.isFinished() || event instanceof RunCompleted || event instanceof RunFailed
        || event instanceof RunCancelled;
  }

  @Override
  public CommandHandlerWithReply<Command, RunEvent, RunState> commandHandler() {
    var builder = newCommandHandlerWithReplyBuilder().forAnyState();
    builder.onCommand(Start.class, this::onStart);
    builder.onCommand(AgentsResolved.class, this::onAgentsResolved);
    builder.onCommand(Get.class, this::onGet);
    builder.onCommand(GetState.class, (s, c) -> Effect().reply(c.replyTo(),
        s.isEmpty() ? StatusReply.error(notFound()) : StatusReply.success(new StateAt(lastSequenceNumber(ctx), s))));
    builder.onCommand(Decide.class, this::onDecide);
    builder.onCommand(ApprovalDeadline.class, this::onApprovalDeadline);
    builder.onCommand(Cancel.class, this::onCancel);
    builder.onCommand(StepDone.class, this::onStepDone);
    builder.onCommand(RetryDue.class, this::onRetryDue);
    builder.onCommand(BudgetRetryDue.class, this::onBudgetRetryDue);
    builder.onCommand(StepStopped.class, this::onStepStopped);
    builder.onCommand(Watch.class, this::onWatch);
    builder.onCommand(DeadlinePassed.class, this::onDeadline);
    builder.onCommand(Idle.class, this::onIdle);
    builder.onCommand(Passivate.class, (s, c) -> Effect().stop().thenNoReply());
    return builder.build();
  }

  @Override
  public EventHandler<RunState, RunEvent> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(RunState::apply);
  }

  @Override
  public SignalHandler<RunState> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.class, (state, signal) -> resume(state)).build();
  }

  // ---- command handlers: decide ------------------------------------------------------------------------

  private ReplyEffect<RunEvent, RunState> onStart(RunState s, Start c) {
    if (!s.isEmpty()) return alreadyStarted(s, c);
    CompiledWorkflow wf;
    try {
      wf = setup.workflows().compile(c.spec());
    } catch (WorkflowException e) {
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.INVALID_REQUEST.reject(e.getMessage())));
    }
    List<Problem> problems = wf.validateInputs(c.inputs());
    if (!problems.isEmpty()) {
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.INVALID_REQUEST.reject(describe(problems))));
    }
    Set<String> toResolve = agentsToResolve(c);
    if (toResolve.isEmpty()) return accept(s, c, wf, Map.of());
    // The run pins the agents' versions it starts with; reading them is one ask of the tenant's registry.
    resolving++;
    ctx.pipeToSelf(setup.agents().activeVersions(tenantId, toResolve),
        (versions, failure) -> new AgentsResolved(c, versions, failure));
    return Effect().noReply();
  }

  private ReplyEffect<RunEvent, RunState> onAgentsResolved(RunState s, AgentsResolved r) {
    resolving--;
    Start c = r.start();
    // Another Start of the same run may have been accepted meanwhile.
    if (!s.isEmpty()) return alreadyStarted(s, c);
    if (r.failure() != null) {
      Throwable cause = r.failure() instanceof CompletionException && r.failure().getCause() != null
          ? r.failure().getCause() : r.failure();
      String code = cause instanceof StepFailure f ? f.code() : ErrorCode.TIMEOUT.name();
      return Effect().reply(c.replyTo(), StatusReply.error(code + ": could not read the versions of the workflow's "
          + "agents, which a run records when it starts: " + cause.getMessage()));
    }
    return accept(s, c, setup.workflows().compile(c.spec()), r.versions());
  }

  /**
   * Answers a Start for a run that exists: the same request gets the run, another one a conflict. Without
   * an idempotency key the same request is a repeat of one submit's Start (a run id without a key is
   * drawn at random per submit), which the edge sends again when an attempt timed out.
   */
  private ReplyEffect<RunEvent, RunState> alreadyStarted(RunState s, Start c) {
    boolean sameRequest = Objects.equals(c.idempotencyKey(), s.idempotencyKey())
        && Objects.equals(c.requestHash(), s.requestHash());
    if (sameRequest) return Effect().reply(c.replyTo(), StatusReply.success(new Started(RunView.of(s), false)));
    return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.CONFLICT.reject(c.idempotencyKey() == null
        ? "run " + runId + " already exists"
        : "idempotency key '" + c.idempotencyKey() + "' was already used for a different request")));
  }

  /** The agents whose active version the run must read: those of its agent nodes that a fork does not inherit. */
  private Set<String> agentsToResolve(Start c) {
    Set<String> names = new TreeSet<>();
    if (setup.agents() == null) return names;
    for (NodeSpec n : c.spec().nodes()) {
      if (NodeSpec.AGENT.equals(n.type()) && inheritedAgent(c, n) == null) names.add(n.agent());
    }
    return names;
  }

  private static RunPins.AgentPin inheritedAgent(Start c, NodeSpec n) {
    RunPins.AgentPin pin = c.inherited() == null ? null : c.inherited().agents().get(n.id());
    return pin != null && pin.agent().equals(n.agent()) ? pin : null;
  }

  /**
   * What the run's nodes resolve to now: each agent node's agent version (from {@code versions}, the
   * registry's answer) and each LLM node's route definition (from the LLM port, which knows the routes of
   * this node). A fork keeps its original's pins where its nodes are the same.
   */
  private RunPins pinsOf(Start c, CompiledWorkflow wf, Map<String, Integer> versions) {
    Map<String, RunPins.AgentPin> agents = new LinkedHashMap<>();
    Map<String, RouteDefinition> routes = new LinkedHashMap<>();
    for (NodeSpec n : c.spec().nodes()) {
      if (NodeSpec.AGENT.equals(n.type())) {
        RunPins.AgentPin inherited = inheritedAgent(c, n);
        Integer version = versions.get(n.agent());
        if (inherited != null) agents.put(n.id(), inherited);
        else if (version != null) agents.put(n.id(), new RunPins.AgentPin(n.agent(), version));
      } else if (NodeSpec.LLM.equals(n.type()) || NodeSpec.MAP.equals(n.type())) {
        NodeSpec step = wf.effectiveStep(n.id());
        String route = routeOf(step);
        RouteDefinition inherited = c.inherited() == null ? null : c.inherited().route(n.id());
        boolean same = inherited != null && inherited.route().equals(route == null ? DEFAULT_ROUTE : route)
            && Objects.equals(inherited.model(), step.model());
        RouteDefinition definition = same ? inherited : setup.llm().routeFor(route, step.model());
        if (definition != null) routes.put(n.id(), definition);
      }
    }
    return new RunPins(true, agents, routes);
  }

  /** The route a node's calls name: its own, or {@code default} when it pins no model either. */
  private static String routeOf(NodeSpec step) {
    return step.route() == null && step.model() == null ? DEFAULT_ROUTE : step.route();
  }

  private ReplyEffect<RunEvent, RunState> accept(RunState s, Start c, CompiledWorkflow wf,
      Map<String, Integer> agentVersions) {
    Instant now = setup.clock().instant();
    var accepted = new RunAccepted(runId, tenantId, c.spec(), wf.withDefaults(c.inputs()), c.idempotencyKey(),
        c.requestHash(), c.fork(), pinsOf(c, wf, agentVersions), now,
        RunTrace.start(c.traceparent(), ThreadLocalRandom.current()));
    List<RunEvent> events = RunDecider.STANDARD.start(s, accepted, wf);
    return persist(events)
        .thenRun(next -> {
          if (next.isFinished()) {
            finished(next);
            return;
          }
          ctx.cancelReceiveTimeout();
          startDeadline(next);
          afterPersist(next, events);
        })
        .thenReply(c.replyTo(), next -> StatusReply.success(new Started(RunView.of(next), true)));
  }

  private ReplyEffect<RunEvent, RunState> onGet(RunState s, Get c) {
    if (s.isEmpty()) return Effect().reply(c.replyTo(), StatusReply.error(notFound()));
    return Effect().reply(c.replyTo(), StatusReply.success(RunView.of(s)));
  }

  private ReplyEffect<RunEvent, RunState> onCancel(RunState s, Cancel c) {
    if (s.isEmpty()) return Effect().reply(c.replyTo(), StatusReply.error(notFound()));
    if (s.isFinished()) {
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.CONFLICT.reject(
          "run " + runId + " already finished with status " + s.status())));
    }
    return persist(List.of(new RunCancelled(c.reason(), setup.clock().instant())))
        .thenRun(this::finished)
        .thenReply(c.replyTo(), next -> StatusReply.success(RunView.of(next)));
  }

  private ReplyEffect<RunEvent, RunState> onStepDone(RunState s, StepDone c) {
    StepState step = s.isFinished() ? null : s.step(StepState.key(c.nodeId(), c.item()));
    boolean waitingForBudget = step != null && step.status() == StepStatus.BUDGET_WAIT;
    if (step == null || (step.status() != StepStatus.SCHEDULED && !waitingForBudget) || step.attempt() != c.attempt()) {
      // A report for an attempt the run no longer waits for: a late answer after a timeout, or after
      // the run ended. Persisting it would record a result twice.
      return Effect().noReply();
    }
    heldTokens.remove(step.key());
    Instant now = setup.clock().instant();
    CompiledWorkflow wf;
    try {
      wf = setup.workflows().compile(s.spec());
    } catch (WorkflowException e) {
      // Only possible if this node's code no longer accepts a spec an earlier version accepted.
      var failed = new RunFailed(RunError.of(ErrorCode.INTERNAL.name(),
          "the run's workflow no longer compiles on this node: " + e.getMessage()), now);
      return persist(List.of(failed)).thenRun(this::finished).thenNoReply();
    }
    List<RunEvent> events = RunDecider.STANDARD.stepDone(s, wf, c, now, ThreadLocalRandom.current().nextDouble());
    if (events.isEmpty()) {
      // Still no budget: the same attempt tries again later. Only the first refusal is journaled.
      startBudgetTimer(step);
      return Effect().noReply();
    }
    return persist(events).thenRun(next -> afterPersist(next, events)).thenNoReply();
  }

  private ReplyEffect<RunEvent, RunState> onRetryDue(RunState s, RetryDue c) {
    StepState step = s.isFinished() ? null : s.step(c.stepKey());
    if (step == null || step.status() != StepStatus.RETRY_WAIT || step.attempt() != c.attempt()) {
      return Effect().noReply();
    }
    List<RunEvent> events = RunDecider.STANDARD.retryDue(step, setup.clock().instant());
    return persist(events).thenRun(next -> dispatch(next, events)).thenNoReply();
  }

  private ReplyEffect<RunEvent, RunState> onStepStopped(RunState s, StepStopped c) {
    StepState step = s.isFinished() ? null : s.step(StepState.key(c.nodeId(), c.item()));
    if (step == null || step.attempt() != c.attempt()) return Effect().noReply();
    if (step.status() == StepStatus.SCHEDULED) {
      return onStepDone(s, new StepDone(c.nodeId(), c.item(), c.attempt(),
          StepOutcome.failure("INTERNAL", "the step stopped without reporting", true)));
    }
    // Its report (another refusal) restarted the timer already; if it died before reporting, this does.
    if (step.status() == StepStatus.BUDGET_WAIT) startBudgetTimer(step);
    return Effect().noReply();
  }

  private ReplyEffect<RunEvent, RunState> onBudgetRetryDue(RunState s, BudgetRetryDue c) {
    StepState step = s.isFinished() ? null : s.step(c.stepKey());
    if (step != null && step.status() == StepStatus.BUDGET_WAIT && step.attempt() == c.attempt()) {
      // Tried without a journal entry: success or another failure is journaled when the step reports.
      startStep(s, setup.workflows().compile(s.spec()), step);
    }
    return Effect().noReply();
  }

  private ReplyEffect<RunEvent, RunState> onDecide(RunState s, Decide c) {
    if (s.isEmpty()) return Effect().reply(c.replyTo(), StatusReply.error(notFound()));
    boolean approvalNode = s.spec().node(c.nodeId()).map(n -> NodeSpec.APPROVAL.equals(n.type())).orElse(false);
    if (!approvalNode) {
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.NOT_FOUND.reject(
          "run " + runId + " has no approval node '" + c.nodeId() + "'")));
    }
    if (s.isFinished() || !s.approvals().containsKey(c.nodeId())) {
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.CONFLICT.reject("node " + c.nodeId()
          + " is not waiting for a decision: it is " + s.node(c.nodeId()).status()
          + (s.isFinished() ? " and the run " + s.status() : ""))));
    }
    List<RunEvent> events = RunDecider.STANDARD.decide(s, setup.workflows().compile(s.spec()), c.nodeId(), c.approve(),
        c.by(), c.comment(), setup.clock().instant());
    return persist(events)
        .thenRun(next -> {
          cancelTimer(APPROVAL_TIMER + c.nodeId());
          afterPersist(next, events);
        })
        .thenReply(c.replyTo(), next -> StatusReply.success(RunView.of(next)));
  }

  private ReplyEffect<RunEvent, RunState> onApprovalDeadline(RunState s, ApprovalDeadline c) {
    ApprovalRequested pending = s.isFinished() ? null : s.approvals().get(c.nodeId());
    if (pending == null) return Effect().noReply();
    List<RunEvent> events = RunDecider.STANDARD.decide(s, setup.workflows().compile(s.spec()), c.nodeId(),
        NodeSpec.APPROVE.equals(pending.defaultDecision()), DEADLINE, "no decision before the deadline",
        setup.clock().instant());
    return persist(events).thenRun(next -> afterPersist(next, events)).thenNoReply();
  }

  private ReplyEffect<RunEvent, RunState> onDeadline(RunState s, DeadlinePassed c) {
    if (s.isEmpty() || s.isFinished()) return Effect().noReply();
    var failed = new RunFailed(RunError.of(ErrorCode.TIMEOUT.name(),
        "run exceeded its timeout of " + s.spec().policy().timeoutMs() + " ms"), setup.clock().instant());
    return persist(List.of(failed)).thenRun(this::finished).thenNoReply();
  }

  private ReplyEffect<RunEvent, RunState> onIdle(RunState s, Idle c) {
    if (resolving > 0) return Effect().noReply();
    if (s.isEmpty() || s.isFinished()) {
      if (shard != null) {
        shard.tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
        return Effect().noReply();
      }
      return Effect().stop().thenNoReply();
    }
    return Effect().noReply();
  }

  private ReplyEffect<RunEvent, RunState> onWatch(RunState s, Watch c) {
    boolean finished = s.isEmpty() || s.isFinished();
    if (!finished) live.watchedFor(c.ttl());
    return Effect().reply(c.replyTo(), new Watching(tenantId, runId, lastSequenceNumber(ctx), finished));
  }

  /**
   * Persists atomically, then tells the listener (the benchmark, active runs) and, while someone watches,
   * the run's topic what was persisted.
   */
  private EffectBuilder<RunEvent, RunState> persist(List<RunEvent> events) {
    return Effect().persist(events).thenRun(next -> {
      setup.listener().onPersisted(tenantId, runId, events);
      live.published(lastSequenceNumber(ctx), events);
      RunEvent last = events.get(events.size() - 1);
      if (next.isFinished() && (last instanceof RunEvent.RunCompleted || last instanceof RunEvent.RunFailed
          || last instanceof RunEvent.RunCancelled)) {
        logInfo(next, last.nodeId(), "run {} finished {} after {} ms", runId, next.status(),
            next.acceptedAt() == null ? -1 : Duration.between(next.acceptedAt(), setup.clock().instant()).toMillis());
      }
    });
  }

  /**
   * Logs with the run's ids in the MDC ({@code tenant_id}, {@code run_id}, {@code trace_id}, and {@code node_id}
   * when a node is concerned), which the JSON log format carries as fields. Never a prompt or an output: those
   * stay in the journal.
   */
  private void logInfo(RunState s, String nodeId, String format, Object... args) {
    log(ctx.getLog(), s, nodeId, format, args);
  }

  private void log(org.slf4j.Logger log, RunState s, String nodeId, String format, Object... args) {
    MDC.put("tenant_id", tenantId);
    MDC.put("run_id", runId);
    if (s.trace() != null) MDC.put("trace_id", s.trace().traceId());
    if (nodeId != null) MDC.put("node_id", nodeId);
    try {
      if (log == PROMPTS) log.debug(format, args); else log.info(format, args);
    } finally {
      MDC.remove("tenant_id");
      MDC.remove("run_id");
      MDC.remove("trace_id");
      MDC.remove("node_id");
    }
  }

  private static String describe(List<Problem> problems) {
    var sb = new StringBuilder();
    for (Problem p : problems) {
      if (sb.length() > 0) sb.append("; ");
      sb.append(p.path()).append(": ").append(p.message());
    }
    return sb.toString();
  }

  private String notFound() {
    return ErrorCode.NOT_FOUND.reject("run " + runId + " not found");
  }

  // ---- side effects after persisting -------------------------------------------------------------------

  private void afterPersist(RunState next, List<RunEvent> events) {
    if (next.isFinished()) {
      finished(next);
      return;
    }
    for (RunEvent e : events) {
      if (e instanceof StepRetryScheduled r) {
        startTimer(RETRY_TIMER + StepState.key(r.nodeId(), r.item()),
            new RetryDue(StepState.key(r.nodeId(), r.item()), r.attempt()), Duration.ofMillis(r.delayMs()));
      } else if (e instanceof ApprovalRequested a) {
        startApprovalTimer(a);
      } else if (e instanceof BudgetExhausted b) {
        startBudgetTimer(next.step(StepState.key(b.nodeId(), b.item())));
      }
    }
    dispatch(next, events);
  }

  /** Starts a step actor for each step the events scheduled. */
  private void dispatch(RunState s, List<RunEvent> events) {
    if (s.isFinished()) return;
    CompiledWorkflow wf = setup.workflows().compile(s.spec());
    for (RunEvent e : events) {
      if (e instanceof StepScheduled scheduled) {
        startStep(s, wf, s.step(StepState.key(scheduled.nodeId(), scheduled.item())));
      }
    }
  }

  private void startStep(RunState s, CompiledWorkflow wf, StepState step) {
    try {
      spawnStep(s, wf, step);
    } catch (RuntimeException e) {
      // A prompt that cannot be rendered fails its step like any other failure, never the entity.
      ctx.getSelf().tell(new StepDone(step.nodeId(), step.item(), step.attempt(), StepOutcome.failure("INTERNAL",
          "could not prepare the step: " + e.getClass().getSimpleName() + ": " + e.getMessage(), false)));
    }
  }

  private void spawnStep(RunState s, CompiledWorkflow wf, StepState step) {
    NodeSpec node = wf.effectiveStep(step.nodeId());
    EvalContext context = RunDecider.contextOf(s);
    if (step.item() != null) {
      context = context.withItem(s.node(step.nodeId()).items().get(step.item()), step.item());
    }
    Duration timeout = Duration.ofMillis(node.timeoutMs() != null ? node.timeoutMs() : s.spec().policy().stepTimeoutMs());
    String key = RunIds.stepCall(runId, step.key(), step.attempt());
    String traceparent = s.trace() == null ? null : s.trace().stepTraceparent(key);
    if (NodeSpec.TOOL.equals(node.type())) {
      if (setup.tools() == null) {
        ctx.getSelf().tell(new StepDone(step.nodeId(), step.item(), step.attempt(),
            StepOutcome.failure("UNKNOWN_TOOL", "this node offers no tools", false)));
        return;
      }
      var invocation = new ToolInvocation(key, tenantId, node.tool(), wf.renderArguments(step.nodeId(), context), timeout,
          traceparent);
      startStepActor(step, StepActor.tool(setup.tools(), invocation), timeout);
      return;
    }
    if (NodeSpec.AGENT.equals(node.type())) {
      if (setup.agents() == null) {
        ctx.getSelf().tell(new StepDone(step.nodeId(), step.item(), step.attempt(),
            StepOutcome.failure("NOT_FOUND", "this node runs no agents", false)));
        return;
      }
      startStepActor(step, StepActor.agent(setup.agents(), tenantId, node.agent(), s.pins().agentVersion(step.nodeId()),
          wf.renderPrompt(step.nodeId(), context), wf.renderArguments(step.nodeId(), context), key, traceparent), timeout);
      return;
    }
    List<ChatMessage> messages = new ArrayList<>(2);
    String system = wf.renderSystem(step.nodeId(), context);
    if (system != null) messages.add(ChatMessage.system(system));
    messages.add(ChatMessage.user(wf.renderPrompt(step.nodeId(), context)));
    if (PROMPTS.isDebugEnabled()) {
      log(PROMPTS, s, step.nodeId(), "run {} step {} attempt {} prompt: {}", runId, step.key(), step.attempt(), messages);
    }
    RunLive.StepDeltas toTopic = live.deltaSink(step.nodeId(), step.item(), step.attempt());
    DeltaSink deltas = deltaSink(step, toTopic);
    var request = new LlmRequest(key, tenantId, routeOf(node), node.model(), messages,
        node.maxTokens() != null ? node.maxTokens() : DEFAULT_MAX_TOKENS, node.temperature(), node.outputSchema(),
        timeout, List.of(), deltas, runId, step.key(), s.pins().route(step.nodeId()), traceparent);
    if (!reserveRunTokens(s, step, request)) return;
    startStepActor(step, StepActor.llm(setup.llm(), request, node.outputSchema(),
        toTopic == null ? () -> {} : toTopic::flush), timeout);
  }

  private void startStepActor(StepState step, Supplier<CompletionStage<StepOutcome>> call,
      Duration timeout) {
    // The step's own timer is a backstop behind the port's deadline: an answer the port got (and paid
    // for) in the last milliseconds must reach the run, not be thrown away by a timer that fired first.
    var stepSetup = new StepActor.Setup(ctx.getSelf(), step.nodeId(), step.item(), step.attempt(), call,
        timeout.plus(STEP_TIMER_GRACE));
    var child = ctx.spawn(StepActor.create(stepSetup), childName(step) + "-" + (++spawned));
    // If the step actor dies without reporting, the run hears of it instead of waiting for its deadline;
    // after a normal report this arrives second and finds the attempt no longer waiting.
    ctx.watchWith(child, new StepStopped(step.nodeId(), step.item(), step.attempt()));
  }

  /** Where a streaming call's text goes: to the listener if it wants it, to the topic while watched. */
  private DeltaSink deltaSink(StepState step, RunLive.StepDeltas toTopic) {
    RunListener listener = setup.listener();
    if (!listener.wantsDeltas()) return toTopic;
    DeltaSink toListener = text -> listener.onDelta(tenantId, runId, step.nodeId(), step.item(), step.attempt(), text);
    if (toTopic == null) return toListener;
    return text -> {
      toListener.onDelta(text);
      toTopic.onDelta(text);
    };
  }

  /**
   * Holds the call's token estimate against the run's own {@code token_budget}; when it does not fit, the
   * step reports {@code BUDGET_EXCEEDED} at once and no call is made.
   */
  private boolean reserveRunTokens(RunState s, StepState step, LlmRequest request) {
    Long budget = s.spec().policy().tokenBudget();
    if (budget == null) return true;
    long estimate = setup.llm().estimate(request).tokens();
    long used = s.usage().tokensIn() + s.usage().tokensOut();
    long held = 0;
    for (var e : heldTokens.entrySet()) {
      if (!e.getKey().equals(step.key())) held += e.getValue();
    }
    if (used + held + estimate > budget) {
      ctx.getSelf().tell(new StepDone(step.nodeId(), step.item(), step.attempt(), StepOutcome.failure(RunDecider.BUDGET_EXCEEDED,
          "the run's token_budget of " + budget + " does not fit this call: used " + used + ", held by steps out "
              + held + ", this call needs up to " + estimate, false)));
      return false;
    }
    heldTokens.put(step.key(), estimate);
    return true;
  }

  private static String childName(StepState step) {
    return "step-" + step.nodeId() + (step.item() == null ? "" : "-" + step.item()) + "-" + step.attempt();
  }

  /**
   * A run that ended stops its step actors and timers and, once idle, leaves memory. Running runs have
   * no receive timeout: resetting it on every step's message would cost a scheduler round per message.
   */
  private void finished(RunState ignored) {
    // Not the live topic: stopped now, it would drop the terminal event it has yet to publish (subscribers
    // then learnt of the end only from their next renewal). It stops with the entity.
    ctx.getChildren().forEach(child -> {
      if (!live.isTopic(child)) ctx.stop(child);
    });
    timers.values().forEach(Cancellable::cancel);
    timers.clear();
    heldTokens.clear();
    ctx.setReceiveTimeout(setup.settings().idleTimeout(), Idle.INSTANCE);
  }

  private void startTimer(String key, Command message, Duration delay) {
    Cancellable previous = timers.put(key, ctx.scheduleOnce(delay, ctx.getSelf(), message));
    if (previous != null) previous.cancel();
  }

  private void cancelTimer(String key) {
    Cancellable timer = timers.remove(key);
    if (timer != null) timer.cancel();
  }

  private void startApprovalTimer(ApprovalRequested a) {
    if (a.deadline() == null) return;
    Duration left = Duration.between(setup.clock().instant(), a.deadline());
    startTimer(APPROVAL_TIMER + a.nodeId(), new ApprovalDeadline(a.nodeId()), left.isNegative() ? Duration.ZERO : left);
  }

  private void startBudgetTimer(StepState step) {
    startTimer(BUDGET_TIMER + step.key(), new BudgetRetryDue(step.key(), step.attempt()),
        setup.settings().budgetRetryInterval());
  }

  private void startDeadline(RunState s) {
    if (s.isFinished()) return;
    Instant deadline = s.acceptedAt().plusMillis(s.spec().policy().timeoutMs());
    Duration left = Duration.between(setup.clock().instant(), deadline);
    startTimer(DEADLINE_TIMER, DeadlinePassed.INSTANCE, left.isNegative() ? Duration.ZERO : left);
  }

  /** After recovery: pick up every step that was out when the run last stopped, and the timers. */
  private void resume(RunState s) {
    if (!s.isEmpty()) setup.listener().onRecovered(tenantId, runId, s);
    if (s.isEmpty() || s.isFinished()) {
      ctx.setReceiveTimeout(setup.settings().idleTimeout(), Idle.INSTANCE);
      return;
    }
    startDeadline(s);
    CompiledWorkflow wf = setup.workflows().compile(s.spec());
    Instant now = setup.clock().instant();
    for (StepState step : s.steps().values()) {
      if (step.status() == StepStatus.SCHEDULED) {
        logInfo(s, step.nodeId(), "run {}: re-dispatching {} attempt {} after recovery", runId, step.key(), step.attempt());
        startStep(s, wf, step);
      } else if (step.status() == StepStatus.RETRY_WAIT) {
        Duration left = Duration.between(now, step.retryAt());
        startTimer(RETRY_TIMER + step.key(), new RetryDue(step.key(), step.attempt()),
            left.isNegative() ? Duration.ZERO : left);
      } else if (step.status() == StepStatus.BUDGET_WAIT) {
        startBudgetTimer(step);
      }
    }
    s.approvals().values().forEach(this::startApprovalTimer);
  }
}
