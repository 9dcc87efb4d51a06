package dev.orrery.agent.instance;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.orrery.agent.definition.AgentDefinition;
import dev.orrery.agent.definition.AgentVersion;
import dev.orrery.agent.instance.AgentEvent.AnswerGiven;
import dev.orrery.agent.instance.AgentEvent.InvocationFailed;
import dev.orrery.agent.instance.AgentEvent.InvocationStarted;
import dev.orrery.agent.instance.AgentEvent.ModelReplied;
import dev.orrery.agent.instance.AgentEvent.RepairRequested;
import dev.orrery.agent.instance.AgentEvent.ToolCallRequested;
import dev.orrery.agent.instance.AgentEvent.ToolResultRecorded;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.JsonSerializable;
import dev.orrery.core.port.AgentAnswer;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.port.LlmRequest;
import dev.orrery.core.port.LlmResult;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.port.ToolCall;
import dev.orrery.core.port.ToolSpec;
import dev.orrery.core.port.Usage;
import dev.orrery.core.workflow.OutputSchemas;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One agent instance, event-sourced and sharded as {@code agent|<tenantId>|<instanceId>}: an agent pinned
 * to the definition version it started with, and its memory. It processes one invocation at a time; a
 * second one while it works is refused, the same one again (same invocation id) waits for the same answer.
 *
 * <p>The loop: call the model with the conversation and the agent's tools; when it asks for tools, record
 * the request, run them (in parallel when it asks for several) and record each result; when all are in,
 * call the model again; stop at an answer or after {@code max_iterations} calls that still asked for
 * tools. An answer that does not satisfy the output schema is sent back once for repair. Each model
 * call's idempotency key is {@code <instanceId>/<invocation>/llm/<turn>} and each tool call's
 * {@code <instanceId>/<invocation>/<turn>/tool/<callId>}, so an instance recovered from its events calls
 * again only what has no recorded result, with the same key.
 *
 * <p>An instance with an invocation in progress stays in memory; with sharding's remembered entities it
 * comes back by itself after its node stops and resumes the loop. An idle one passivates after
 * {@code idle-timeout}, and the next invocation recovers it with its memory.
 */
public final class AgentInstance
    extends EventSourcedBehaviorWithEnforcedReplies<AgentInstance.Command, AgentEvent, AgentState> {

  public static final EntityTypeKey<Command> KEY = EntityTypeKey.create(Command.class, "agent");
  public static final String MAX_ITERATIONS = "MAX_ITERATIONS";
  public static final String INVALID_OUTPUT = "INVALID_OUTPUT";
  private static final String SEPARATOR = "|";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** What an instance needs from its node. */
  public record Setup(LlmPort llm, AgentTools tools, Clock clock, AgentSettings settings) {}

  // ---- protocol --------------------------------------------------------------------------------------

  public sealed interface Command extends JsonSerializable {}

  /**
   * Run one invocation: the task (and its context) as the next user turn. Answered when it ends, with
   * its answer or an error. {@code agent} pins a new instance; an existing one keeps its own version.
   */
  public record Invoke(
      @JsonProperty("invocation_id") String invocationId,
      @JsonProperty("agent") AgentVersion agent,
      @JsonProperty("task") String task,
      @JsonProperty("context") JsonNode context,
      @JsonProperty("traceparent") String traceparent,
      @JsonProperty("reply_to") ActorRef<StatusReply<AgentAnswer>> replyTo) implements Command {

    public Invoke(String invocationId, AgentVersion agent, String task, JsonNode context,
        ActorRef<StatusReply<AgentAnswer>> replyTo) {
      this(invocationId, agent, task, context, null, replyTo);
    }
  }

  public record Get(@JsonProperty("reply_to") ActorRef<StatusReply<AgentState>> replyTo) implements Command {}

  /** A model call ended (from the instance's own future; never crosses nodes). */
  public record ModelDone(String invocationId, int turn, LlmResult result, String errorCode, String errorMessage)
      implements Command {}

  /** A tool call ended (from the instance's own future; never crosses nodes). */
  public record ToolDone(String invocationId, int turn, String callId, String tool, String output, boolean failed,
      long durationMs) implements Command {}

  /** Nothing happened for {@code idle-timeout}: an instance with no invocation in progress leaves memory. */
  public enum Idle implements Command { INSTANCE }

  /** Sharding's stop message: the instance stops after what it is persisting. */
  public enum Passivate implements Command { INSTANCE }

  // ---- wiring ----------------------------------------------------------------------------------------

  public static void init(ActorSystem<?> system, Setup setup) {
    ClusterSharding.get(system).init(Entity.of(KEY, ctx -> create(ctx.getEntityId(), setup, ctx.getShard()))
        .withStopMessage(Passivate.INSTANCE));
  }

  public static String entityId(String tenantId, String instanceId) {
    return tenantId + SEPARATOR + instanceId;
  }

  /** {@code agent|<tenantId>|<instanceId>}, built by hand as the entity id holds the separator itself. */
  public static PersistenceId persistenceId(String entityId) {
    return PersistenceId.ofUniqueId(KEY.name() + SEPARATOR + entityId);
  }

  /** Outside sharding (tests): an idle instance stops itself. */
  public static Behavior<Command> create(String entityId, Setup setup) {
    return create(entityId, setup, null);
  }

  /** @param shard the shard to ask for passivation, or null outside sharding */
  public static Behavior<Command> create(String entityId, Setup setup, ActorRef<ClusterSharding.ShardCommand> shard) {
    return Behaviors.setup(ctx -> new AgentInstance(entityId, setup, shard, ctx));
  }

  private final String tenantId;
  private final String instanceId;
  private final Setup setup;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final ActorContext<Command> ctx;
  /** Who waits for which invocation's answer. Not state: after a crash the caller asks again. */
  private final Map<String, List<ActorRef<StatusReply<AgentAnswer>>>> waiters = new HashMap<>();
  /**
   * The span (a step's) each invocation's model and tool calls belong to, as its callers said: not state,
   * since a re-dispatched step that joins after a recovery says it again.
   */
  private final Map<String, String> traceparents = new HashMap<>();

  private AgentInstance(String entityId, Setup setup, ActorRef<ClusterSharding.ShardCommand> shard,
      ActorContext<Command> ctx) {
    super(persistenceId(entityId));
    int at = entityId.indexOf(SEPARATOR);
    if (at <= 0) throw new IllegalArgumentException("an agent entity id is <tenant>|<instance>, was " + entityId);
    this.tenantId = entityId.substring(0, at);
    this.instanceId = entityId.substring(at + 1);
    this.setup = setup;
    this.shard = shard;
    this.ctx = ctx;
  }

  @Override
  public AgentState emptyState() {
    return AgentState.empty(tenantId, instanceId);
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(setup.settings().snapshotEvery(), 2);
  }

  @Override
  public CommandHandlerWithReply<Command, AgentEvent, AgentState> commandHandler() {
    var builder = newCommandHandlerWithReplyBuilder().forAnyState();
    builder.onCommand(Invoke.class, this::onInvoke);
    builder.onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), StatusReply.success(s)));
    builder.onCommand(ModelDone.class, this::onModelDone);
    builder.onCommand(ToolDone.class, this::onToolDone);
    builder.onCommand(Idle.class, this::onIdle);
    builder.onCommand(Passivate.class, (s, c) -> Effect().stop().thenNoReply());
    return builder.build();
  }

  @Override
  public EventHandler<AgentState, AgentEvent> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(AgentState::apply);
  }

  @Override
  public SignalHandler<AgentState> signalHandler() {
    return newSignalHandlerBuilder().onSignal(RecoveryCompleted.class, (state, signal) -> resume(state)).build();
  }

  // ---- command handlers: decide ----------------------------------------------------------------------

  private ReplyEffect<AgentEvent, AgentState> onInvoke(AgentState s, Invoke c) {
    if (c.traceparent() != null && (!s.busy() || s.current().id().equals(c.invocationId()))) {
      traceparents.put(c.invocationId(), c.traceparent());
    }
    if (s.busy()) {
      if (s.current().id().equals(c.invocationId())) { // the same invocation asked again: one more waiter
        waiters.computeIfAbsent(c.invocationId(), id -> new ArrayList<>()).add(c.replyTo());
        return Effect().noReply();
      }
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.CONFLICT.reject("agent instance " + instanceId
          + " is processing another invocation; an instance takes one at a time")));
    }
    if (s.last() != null && s.last().invocationId().equals(c.invocationId())) {
      return Effect().reply(c.replyTo(), reply(s.last()));
    }
    if (s.agent() != null && !s.agent().name().equals(c.agent().name())) {
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.INVALID_REQUEST.reject("instance " + instanceId
          + " belongs to agent '" + s.agent().name() + "', not '" + c.agent().name() + "'")));
    }
    if (c.task() == null || c.task().isBlank()) {
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.INVALID_REQUEST.reject("a task is required")));
    }
    AgentVersion agent = s.agent() != null ? s.agent() : c.agent();
    List<ChatMessage> messages = new ArrayList<>();
    if (s.memory().isEmpty()) messages.add(ChatMessage.system(systemPrompt(agent.definition())));
    for (ToolCall unanswered : s.danglingToolCalls()) {
      messages.add(ChatMessage.tool(unanswered.id(), "not run: the previous task ended before this call"));
    }
    messages.add(ChatMessage.user(userTurn(c.task(), c.context())));
    var started = new InvocationStarted(c.invocationId(), s.invocations() + 1, s.agent() == null ? agent : null,
        messages, setup.clock().instant());
    return Effect().persist(started)
        .thenRun(next -> {
          ctx.cancelReceiveTimeout(); // working: stays in memory (and is remembered) until the answer
          waiters.computeIfAbsent(c.invocationId(), id -> new ArrayList<>()).add(c.replyTo());
          callModel(next);
        })
        .thenNoReply();
  }

  private ReplyEffect<AgentEvent, AgentState> onModelDone(AgentState s, ModelDone c) {
    var inv = s.current();
    if (inv == null || !inv.id().equals(c.invocationId()) || c.turn() != inv.turns() + 1) {
      return Effect().noReply(); // a stale reply (the call was made again after a recovery, and answered)
    }
    Instant now = setup.clock().instant();
    if (c.result() == null) {
      return finish(Effect().persist(new InvocationFailed(inv.id(), c.errorCode(), c.errorMessage(), now)));
    }
    LlmResult r = c.result();
    var replied = new ModelReplied(inv.id(), c.turn(), r.text(), uniqueIds(r.toolCalls(), c.turn()),
        r.usage() == null ? Usage.ZERO : r.usage(), r.provider(), r.model(), now);
    AgentDefinition definition = s.agent().definition();
    if (!replied.toolCalls().isEmpty()) {
      if (c.turn() >= definition.maxIterations()) {
        return finish(Effect().persist(List.of(replied, new InvocationFailed(inv.id(), MAX_ITERATIONS,
            "agent '" + definition.name() + "' still asked for tools after max_iterations ("
                + definition.maxIterations() + ") model calls", now))));
      }
      List<AgentEvent> events = new ArrayList<>();
      events.add(replied);
      for (ToolCall call : replied.toolCalls()) {
        events.add(new ToolCallRequested(inv.id(), c.turn(), call.id(), call.name(), call.arguments(),
            toolKey(inv.number(), c.turn(), call.id())));
      }
      return Effect().persist(events).thenRun(this::runTools).thenNoReply();
    }
    if (definition.outputSchema() == null) {
      return finish(Effect().persist(List.of(replied,
          new AnswerGiven(inv.id(), TextNode.valueOf(r.text() == null ? "" : r.text()), now))));
    }
    List<String> problems = new ArrayList<>();
    JsonNode answer = parseAnswer(r.text(), definition.outputSchema(), problems);
    if (problems.isEmpty()) return finish(Effect().persist(List.of(replied, new AnswerGiven(inv.id(), answer, now))));
    if (!inv.repairAsked()) {
      var repair = new RepairRequested(inv.id(), c.turn(), problems, repairMessage(definition, problems));
      return Effect().persist(List.of(replied, repair)).thenRun(this::callModel).thenNoReply();
    }
    return finish(Effect().persist(List.of(replied, new InvocationFailed(inv.id(), INVALID_OUTPUT,
        "the answer does not satisfy the output schema after one repair: " + String.join("; ", problems), now))));
  }

  private ReplyEffect<AgentEvent, AgentState> onToolDone(AgentState s, ToolDone c) {
    var inv = s.current();
    boolean expected = inv != null && inv.id().equals(c.invocationId()) && c.turn() == inv.turns()
        && inv.unanswered().stream().anyMatch(call -> call.id().equals(c.callId()));
    if (!expected) return Effect().noReply(); // already recorded (a re-dispatch after a recovery answered twice)
    return Effect().persist(new ToolResultRecorded(inv.id(), c.turn(), c.callId(), c.tool(), c.output(), c.failed(),
            c.durationMs()))
        .thenRun(next -> {
          if (next.current() != null && !next.current().waitingForTools()) callModel(next);
        })
        .thenNoReply();
  }

  /** Persist the end of an invocation, then answer everyone waiting for it. */
  private ReplyEffect<AgentEvent, AgentState> finish(
      EffectBuilder<AgentEvent, AgentState> effect) {
    return effect.thenRun(next -> {
      ctx.setReceiveTimeout(setup.settings().idleTimeout(), Idle.INSTANCE);
      AgentAnswer answer = next.last();
      List<ActorRef<StatusReply<AgentAnswer>>> waiting = waiters.remove(answer.invocationId());
      traceparents.remove(answer.invocationId());
      if (waiting != null) waiting.forEach(w -> w.tell(reply(answer)));
    }).thenNoReply();
  }

  private ReplyEffect<AgentEvent, AgentState> onIdle(AgentState s, Idle c) {
    if (s.busy()) return Effect().noReply();
    if (shard == null) return Effect().stop().thenNoReply();
    shard.tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
    return Effect().noReply();
  }

  private static StatusReply<AgentAnswer> reply(AgentAnswer answer) {
    return StatusReply.success(answer);
  }

  // ---- side effects: calls out -----------------------------------------------------------------------

  /** After a recovery: run what has no recorded result, or make the model call that was in flight. */
  private void resume(AgentState s) {
    if (s.current() == null) {
      ctx.setReceiveTimeout(setup.settings().idleTimeout(), Idle.INSTANCE);
      return;
    }
    ctx.getLog().info("agent instance {} resumes invocation {} at turn {}", instanceId, s.current().id(),
        s.current().turns());
    if (s.current().waitingForTools()) runTools(s); else callModel(s);
  }

  private void callModel(AgentState s) {
    var inv = s.current();
    AgentDefinition d = s.agent().definition();
    int turn = inv.turns() + 1;
    List<ToolSpec> tools = setup.tools().specs(d.tools());
    var request = new LlmRequest(instanceId + "/" + inv.number() + "/llm/" + turn, tenantId, d.effectiveRoute(),
        d.model(), s.memory(), d.maxTokens(), d.temperature(), d.outputSchema(), setup.settings().llmTimeout(), tools,
        null, null, null).withTraceparent(traceparents.get(inv.id()));
    CompletionStage<LlmResult> call;
    try {
      call = setup.llm().complete(request);
    } catch (RuntimeException e) {
      call = CompletableFuture.failedFuture(e);
    }
    ctx.pipeToSelf(call, (result, error) -> error == null
        ? new ModelDone(inv.id(), turn, result, null, null)
        : new ModelDone(inv.id(), turn, null, codeOf(error), messageOf(error)));
  }

  private void runTools(AgentState s) {
    var inv = s.current();
    Set<String> offered = Set.copyOf(s.agent().definition().tools());
    for (ToolCall call : inv.unanswered()) {
      long started = System.nanoTime();
      CompletionStage<String> result;
      if (!offered.contains(call.name())) {
        result = CompletableFuture.failedFuture(new IllegalArgumentException("agent '" + s.agent().name()
            + "' has no tool named '" + call.name() + "'; its tools: " + s.agent().definition().tools()));
      } else {
        try {
          result = setup.tools().call(tenantId, toolKey(inv.number(), inv.turns(), call.id()), call.name(),
                  call.arguments() == null ? "{}" : call.arguments(), traceparents.get(inv.id())).toCompletableFuture()
              .orTimeout(setup.settings().toolTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
          result = CompletableFuture.failedFuture(e);
        }
      }
      int max = setup.settings().maxToolOutputChars();
      ctx.pipeToSelf(result, (output, error) -> {
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        if (error != null) {
          return new ToolDone(inv.id(), inv.turns(), call.id(), call.name(), "error: " + toolError(error), true, ms);
        }
        String text = output == null ? "" : output;
        if (text.length() > max) text = text.substring(0, max) + "\n[output truncated at " + max + " characters]";
        return new ToolDone(inv.id(), inv.turns(), call.id(), call.name(), text, false, ms);
      });
    }
  }

  private String toolKey(int invocation, int turn, String callId) {
    return instanceId + "/" + invocation + "/" + turn + "/tool/" + callId;
  }

  // ---- pure helpers ----------------------------------------------------------------------------------

  /**
   * The calls with ids that name one call each: a missing, blank or repeated id (some servers send
   * them so) becomes {@code call_<turn>_<index>}, which the results then answer.
   */
  static List<ToolCall> uniqueIds(List<ToolCall> calls, int turn) {
    List<ToolCall> out = new ArrayList<>();
    Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < calls.size(); i++) {
      ToolCall c = calls.get(i);
      boolean usable = c.id() != null && !c.id().isBlank() && seen.add(c.id());
      out.add(usable ? c : new ToolCall("call_" + turn + "_" + i, c.name(), c.arguments()));
      if (!usable) seen.add("call_" + turn + "_" + i);
    }
    return out;
  }

  static String systemPrompt(AgentDefinition d) {
    if (d.outputSchema() == null) return d.systemPrompt();
    return d.systemPrompt() + "\n\nGive your final answer as a single JSON value that conforms to this JSON Schema, "
        + "and nothing else: " + d.outputSchema();
  }

  static String userTurn(String task, JsonNode context) {
    if (context == null || context.isNull() || context.isMissingNode() || (context.isContainerNode()
        && context.isEmpty())) {
      return task;
    }
    return task + "\n\nContext:\n" + context;
  }

  /** The answer as JSON (a fenced code block is unwrapped), with what is wrong with it in {@code problems}. */
  static JsonNode parseAnswer(String text, JsonNode schema, List<String> problems) {
    String body = text == null ? "" : text.strip();
    if (body.startsWith("```")) {
      int firstLine = body.indexOf('\n');
      int close = body.lastIndexOf("```");
      if (firstLine > 0 && close > firstLine) body = body.substring(firstLine + 1, close).strip();
    }
    JsonNode answer;
    try {
      answer = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      problems.add("the answer is not JSON: " + e.getOriginalMessage());
      return null;
    }
    if (answer == null || answer.isMissingNode()) {
      problems.add("the answer is empty");
      return null;
    }
    problems.addAll(OutputSchemas.validate(schema, answer));
    return answer;
  }

  static String repairMessage(AgentDefinition d, List<String> problems) {
    return "Your answer does not satisfy the required JSON Schema: " + String.join("; ", problems)
        + ". Answer again with only a single JSON value that conforms to this schema: " + d.outputSchema();
  }

  private static Throwable unwrap(Throwable error) {
    Throwable t = error;
    while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
    return t;
  }

  private static String codeOf(Throwable error) {
    Throwable t = unwrap(error);
    if (t instanceof StepFailure f) return f.code();
    if (t instanceof TimeoutException) return ErrorCode.TIMEOUT.name();
    return ErrorCode.PROVIDER_UNAVAILABLE.name();
  }

  private static String messageOf(Throwable error) {
    Throwable t = unwrap(error);
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  private static String toolError(Throwable error) {
    Throwable t = unwrap(error);
    if (t instanceof TimeoutException) return "the tool did not finish in time";
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
