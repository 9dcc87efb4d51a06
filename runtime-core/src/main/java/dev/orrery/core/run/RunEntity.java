package dev.orrery.core.run;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.JsonSerializable;
import dev.orrery.core.plan.NodePhase;
import dev.orrery.core.plan.Plan;
import dev.orrery.core.plan.Planner;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.DeltaSink;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.LlmResult;
import dev.orrery.core.port.Usage;
import dev.orrery.core.run.RunEvent.BudgetExhausted;
import dev.orrery.core.run.RunEvent.MapExpanded;
import dev.orrery.core.run.RunEvent.NodeFailed;
import dev.orrery.core.run.RunEvent.NodeSkipped;
import dev.orrery.core.run.RunEvent.RunAccepted;
import dev.orrery.core.run.RunEvent.RunCancelled;
import dev.orrery.core.run.RunEvent.RunCompleted;
import dev.orrery.core.run.RunEvent.RunFailed;
import dev.orrery.core.run.RunEvent.StepFailed;
import dev.orrery.core.run.RunEvent.StepRetryScheduled;
import dev.orrery.core.run.RunEvent.StepScheduled;
import dev.orrery.core.run.RunEvent.StepSucceeded;
import dev.orrery.core.workflow.CompiledWorkflow;
import dev.orrery.core.workflow.EvalContext;
import dev.orrery.core.workflow.NodeResult;
import dev.orrery.core.workflow.NodeSpec;
import dev.orrery.core.workflow.Problem;
import dev.orrery.core.workflow.Policy;
import dev.orrery.core.workflow.RetryPolicy;
import dev.orrery.core.workflow.WorkflowException;
import dev.orrery.core.workflow.WorkflowSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
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
  private static final Duration STEP_TIMER_GRACE = Duration.ofSeconds(2);
  /** Timer keys; node ids are free text, so retry timers get a prefix no run-level timer uses. */
  private static final String DEADLINE_TIMER = "run:deadline";
  private static final String RETRY_TIMER = "retry:";
  private static final String BUDGET_TIMER = "budget:";
  private static final String BUDGET_EXCEEDED = ErrorCode.BUDGET_EXCEEDED.name();

  /** What a run needs from its node: the LLM port, the clock, settings, the shared workflow cache, a listener. */
  public record Setup(LlmPort llm, Clock clock, RunSettings settings, WorkflowCache workflows, RunListener listener) {
    public Setup {
      if (listener == null) listener = RunListener.NONE;
    }

    public Setup(LlmPort llm, Clock clock, RunSettings settings, WorkflowCache workflows) {
      this(llm, clock, settings, workflows, RunListener.NONE);
    }
  }

  // ---- protocol --------------------------------------------------------------------------------------

  public sealed interface Command extends JsonSerializable {}

  /** Start the run; answered with the run (also when it was already started with the same request). */
  public record Start(
      WorkflowSpec spec,
      Map<String, Object> inputs,
      String idempotencyKey,
      String requestHash,
      ActorRef<StatusReply<Started>> replyTo) implements Command {}

  public record Started(
      @JsonProperty("run") RunView run,
      @JsonProperty("created") boolean created) implements JsonSerializable {}

  public record Get(ActorRef<StatusReply<RunView>> replyTo) implements Command {}

  /** The state itself, for the journal and replay tooling of later issues and for tests. */
  public record GetState(ActorRef<StatusReply<RunState>> replyTo) implements Command {}

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
    // A finished run is read far more often than it is written: recover it from one snapshot.
    return state.isFinished();
  }

  @Override
  public CommandHandlerWithReply<Command, RunEvent, RunState> commandHandler() {
    var builder = newCommandHandlerWithReplyBuilder().forAnyState();
    builder.onCommand(Start.class, this::onStart);
    builder.onCommand(Get.class, this::onGet);
    builder.onCommand(GetState.class, (s, c) -> Effect().reply(c.replyTo(), StatusReply.success(s)));
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
    if (!s.isEmpty()) {
      boolean sameRequest = c.idempotencyKey() != null && c.idempotencyKey().equals(s.idempotencyKey())
          && Objects.equals(c.requestHash(), s.requestHash());
      if (sameRequest) return Effect().reply(c.replyTo(), StatusReply.success(new Started(RunView.of(s), false)));
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.CONFLICT.reject(c.idempotencyKey() == null
          ? "run " + runId + " already exists"
          : "idempotency key '" + c.idempotencyKey() + "' was already used for a different request")));
    }
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
    Instant now = setup.clock().instant();
    var accepted = new RunAccepted(runId, tenantId, c.spec(), wf.withDefaults(c.inputs()), c.idempotencyKey(),
        c.requestHash(), now);
    List<RunEvent> events = new ArrayList<>();
    events.add(accepted);
    events.addAll(progress(s.apply(accepted), wf, now));
    return persist(events)
        .thenRun(next -> {
          if (next.isFinished()) {
            finished(next);
            return;
          }
          ctx.cancelReceiveTimeout();
          startDeadline(next);
          dispatch(next, events);
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
    StepOutcome o = c.outcome();
    List<RunEvent> events = new ArrayList<>();
    boolean pause = Policy.ON_BUDGET_PAUSE.equals(s.spec().policy().onBudgetExhausted());
    if (!o.succeeded() && pause && BUDGET_EXCEEDED.equals(o.error().code())) {
      // Still no budget: the same attempt tries again later. Only the first refusal is journaled.
      if (waitingForBudget) {
        startBudgetTimer(step);
        return Effect().noReply();
      }
      events.add(new BudgetExhausted(c.nodeId(), c.item(), c.attempt(), o.error(), now));
      return persist(events).thenRun(next -> startBudgetTimer(next.step(step.key()))).thenNoReply();
    }
    if (o.succeeded()) {
      var succeeded = new StepSucceeded(c.nodeId(), c.item(), c.attempt(), o.output(), o.usage(), o.provider(),
          o.model(), o.tried(), now);
      events.add(succeeded);
      events.addAll(progress(s.apply(succeeded), wf, now));
    } else {
      events.add(new StepFailed(c.nodeId(), c.item(), c.attempt(), o.error(), o.retryable(), o.usage(), now));
      RetryPolicy retry = retryOf(wf, c.nodeId());
      if (o.retryable() && c.attempt() < retry.maxAttempts()) {
        long delay = retry.backoffBeforeAttempt(c.attempt() + 1, ThreadLocalRandom.current().nextDouble());
        events.add(new StepRetryScheduled(c.nodeId(), c.item(), c.attempt() + 1, delay, now));
      } else {
        String attempts = c.attempt() == 1 ? "1 attempt" : c.attempt() + " attempts";
        events.add(new RunFailed(new RunError(o.error().code(),
            "node " + StepState.key(c.nodeId(), c.item()) + " failed after " + attempts + ": " + o.error().message(),
            c.nodeId()), now));
      }
    }
    return persist(events).thenRun(next -> afterPersist(next, events)).thenNoReply();
  }

  private ReplyEffect<RunEvent, RunState> onRetryDue(RunState s, RetryDue c) {
    StepState step = s.isFinished() ? null : s.step(c.stepKey());
    if (step == null || step.status() != StepStatus.RETRY_WAIT || step.attempt() != c.attempt()) {
      return Effect().noReply();
    }
    List<RunEvent> events = List.of(new StepScheduled(step.nodeId(), step.item(), c.attempt(), setup.clock().instant()));
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

  private ReplyEffect<RunEvent, RunState> onDeadline(RunState s, DeadlinePassed c) {
    if (s.isEmpty() || s.isFinished()) return Effect().noReply();
    var failed = new RunFailed(RunError.of(ErrorCode.TIMEOUT.name(),
        "run exceeded its timeout of " + s.spec().policy().timeoutMs() + " ms"), setup.clock().instant());
    return persist(List.of(failed)).thenRun(this::finished).thenNoReply();
  }

  private ReplyEffect<RunEvent, RunState> onIdle(RunState s, Idle c) {
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
    });
  }

  // ---- deciding what comes next ------------------------------------------------------------------------

  /**
   * The events that follow from a state: nodes to skip, maps to expand, steps to schedule within
   * {@code max_parallel}, and the run's end. Loops because one decision can enable the next (a skip
   * finishes a branch, an empty map succeeds at once).
   */
  private List<RunEvent> progress(RunState state, CompiledWorkflow wf, Instant now) {
    List<RunEvent> events = new ArrayList<>();
    RunState s = state;
    while (true) {
      List<RunEvent> round = new ArrayList<>();
      Plan plan = Planner.plan(wf, contextOf(s), phasesOf(s));
      if (!plan.errors().isEmpty()) {
        Problem first = plan.errors().get(0);
        String nodeId = nodeOfPath(first.path(), s);
        var error = new RunError(first.code(), first.message(), nodeId);
        events.add(new NodeFailed(nodeId, error, now));
        events.add(new RunFailed(error, now));
        return events;
      }
      // Skips first, each explained by the state that includes the skips before it (a dependant of a
      // node skipped in this same round is skipped "because of" that node).
      for (String skipped : plan.skip()) {
        round.add(new NodeSkipped(skipped, skipReason(wf, applyAll(s, round), skipped), now));
      }
      if (plan.finished()) {
        events.addAll(round);
        events.add(new RunCompleted(plan.outputs(), now));
        return events;
      }
      for (Plan.Ready ready : plan.ready()) {
        if ("map".equals(ready.kind())) {
          round.add(new MapExpanded(ready.nodeId(), ready.items(), now));
        }
      }
      RunState afterRound = applyAll(s, round);
      int capacity = s.spec().policy().maxParallel() - afterRound.activeSteps();
      for (Plan.Ready ready : plan.ready()) {
        if (capacity <= 0) break;
        if (!"map".equals(ready.kind())) {
          round.add(new StepScheduled(ready.nodeId(), null, 1, now));
          capacity--;
        }
      }
      afterRound = applyAll(s, round);
      for (NodeSpec node : s.spec().nodes()) {
        if (capacity <= 0) break;
        NodeState n = afterRound.node(node.id());
        if (n.items() == null || n.status().isFinished()) continue;
        int nodeLimit = node.maxParallel() == null ? Integer.MAX_VALUE : node.maxParallel();
        int nodeFree = nodeLimit - afterRound.activeSteps(node.id());
        for (int i = 0; i < n.items().size() && capacity > 0 && nodeFree > 0; i++) {
          if (afterRound.step(StepState.key(node.id(), i)) == null) {
            round.add(new StepScheduled(node.id(), i, 1, now));
            capacity--;
            nodeFree--;
          }
        }
      }
      if (round.isEmpty()) return events;
      events.addAll(round);
      s = applyAll(s, round);
    }
  }

  private static RunState applyAll(RunState s, List<RunEvent> events) {
    RunState next = s;
    for (RunEvent e : events) next = next.apply(e);
    return next;
  }

  private static String skipReason(CompiledWorkflow wf, RunState s, String nodeId) {
    for (String dep : wf.dependencies(nodeId)) {
      if (s.node(dep).status() == NodeStatus.SKIPPED) return "depends on skipped node " + dep;
    }
    return "condition is false: " + wf.spec().node(nodeId).map(NodeSpec::when).orElse("");
  }

  private static String nodeOfPath(String path, RunState s) {
    for (String id : s.nodes().keySet()) {
      if (path.equals(id) || path.contains("[" + id + "]") || path.startsWith(id + ".")) return id;
    }
    return path;
  }

  static EvalContext contextOf(RunState s) {
    Map<String, NodeResult> results = new HashMap<>();
    s.nodes().forEach((id, n) -> {
      if (n.status() == NodeStatus.SUCCEEDED || n.status() == NodeStatus.SKIPPED) {
        results.put(id, new NodeResult(n.status().name(), n.output()));
      }
    });
    return EvalContext.of(s.inputs(), results);
  }

  static Map<String, NodePhase> phasesOf(RunState s) {
    Map<String, NodePhase> phases = new HashMap<>();
    s.nodes().forEach((id, n) -> phases.put(id, phaseOf(n.status())));
    return phases;
  }

  private static NodePhase phaseOf(NodeStatus status) {
    switch (status) {
      case PENDING:
        return NodePhase.PENDING;
      case SCHEDULED:
      case RUNNING:
        return NodePhase.STARTED;
      case SUCCEEDED:
        return NodePhase.SUCCEEDED;
      case SKIPPED:
        return NodePhase.SKIPPED;
      case FAILED:
        return NodePhase.FAILED;
      default:
        return NodePhase.CANCELLED;
    }
  }

  private static RetryPolicy retryOf(CompiledWorkflow wf, String nodeId) {
    RetryPolicy own = wf.effectiveStep(nodeId).retry();
    return own != null ? own : wf.spec().policy().retry();
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
    EvalContext context = contextOf(s);
    if (step.item() != null) {
      context = context.withItem(s.node(step.nodeId()).items().get(step.item()), step.item());
    }
    List<ChatMessage> messages = new ArrayList<>(2);
    String system = wf.renderSystem(step.nodeId(), context);
    if (system != null) messages.add(ChatMessage.system(system));
    messages.add(ChatMessage.user(wf.renderPrompt(step.nodeId(), context)));
    Duration timeout = Duration.ofMillis(node.timeoutMs() != null ? node.timeoutMs() : s.spec().policy().stepTimeoutMs());
    String key = runId + "/" + step.key() + "/" + step.attempt();
    String route = node.route() == null && node.model() == null ? "default" : node.route();
    DeltaSink deltas = deltaSink(step);
    var request = new LlmRequest(key, tenantId, route, node.model(), messages,
        node.maxTokens() != null ? node.maxTokens() : DEFAULT_MAX_TOKENS, node.temperature(), node.outputSchema(),
        timeout, List.of(), deltas, runId, step.key());
    if (!reserveRunTokens(s, step, request)) return;
    // The step's own timer is a backstop behind the port's deadline: an answer the port got (and paid
    // for) in the last milliseconds must reach the run, not be thrown away by a timer that fired first.
    var stepSetup = new StepActor.Setup(ctx.getSelf(), step.nodeId(), step.item(), step.attempt(), request,
        node.outputSchema(), timeout.plus(STEP_TIMER_GRACE), setup.llm());
    var child = ctx.spawn(StepActor.create(stepSetup), childName(step) + "-" + (++spawned));
    // If the step actor dies without reporting, the run hears of it instead of waiting for its deadline;
    // after a normal report this arrives second and finds the attempt no longer waiting.
    ctx.watchWith(child, new StepStopped(step.nodeId(), step.item(), step.attempt()));
  }

  /** Where a streaming call's text goes: to the listener if it wants it, to the topic while watched. */
  private DeltaSink deltaSink(StepState step) {
    RunListener listener = setup.listener();
    DeltaSink toTopic = live.deltaSink(step.nodeId(), step.item(), step.attempt());
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
      ctx.getSelf().tell(new StepDone(step.nodeId(), step.item(), step.attempt(), StepOutcome.failure(BUDGET_EXCEEDED,
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
    if (s.isEmpty() || s.isFinished()) {
      ctx.setReceiveTimeout(setup.settings().idleTimeout(), Idle.INSTANCE);
      return;
    }
    startDeadline(s);
    CompiledWorkflow wf = setup.workflows().compile(s.spec());
    Instant now = setup.clock().instant();
    for (StepState step : s.steps().values()) {
      if (step.status() == StepStatus.SCHEDULED) {
        ctx.getLog().info("run {}: re-dispatching {} attempt {} after recovery", runId, step.key(), step.attempt());
        startStep(s, wf, step);
      } else if (step.status() == StepStatus.RETRY_WAIT) {
        Duration left = Duration.between(now, step.retryAt());
        startTimer(RETRY_TIMER + step.key(), new RetryDue(step.key(), step.attempt()),
            left.isNegative() ? Duration.ZERO : left);
      } else if (step.status() == StepStatus.BUDGET_WAIT) {
        startBudgetTimer(step);
      }
    }
  }
}
