package dev.orrery.agent.instance;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.agent.definition.AgentVersion;
import dev.orrery.agent.instance.AgentEvent.AnswerGiven;
import dev.orrery.agent.instance.AgentEvent.InvocationFailed;
import dev.orrery.agent.instance.AgentEvent.InvocationStarted;
import dev.orrery.agent.instance.AgentEvent.ModelReplied;
import dev.orrery.agent.instance.AgentEvent.RepairRequested;
import dev.orrery.agent.instance.AgentEvent.ToolCallRequested;
import dev.orrery.agent.instance.AgentEvent.ToolResultRecorded;
import dev.orrery.core.JsonSerializable;
import dev.orrery.core.port.AgentAnswer;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.ToolCall;
import dev.orrery.core.port.Usage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An agent instance folded from its events: the version it is pinned to, its memory (the whole
 * conversation, across invocations), the invocation in progress if any, and how the last one ended.
 * Immutable; {@link #apply} returns the next state and does nothing else.
 */
public record AgentState(
    @JsonProperty("tenant_id") String tenantId,
    @JsonProperty("instance_id") String instanceId,
    @JsonProperty("agent") AgentVersion agent,
    @JsonProperty("memory") List<ChatMessage> memory,
    @JsonProperty("invocations") int invocations,
    @JsonProperty("current") Invocation current,
    @JsonProperty("last") AgentAnswer last) implements JsonSerializable {

  public AgentState {
    memory = List.copyOf(memory);
  }

  public static AgentState empty(String tenantId, String instanceId) {
    return new AgentState(tenantId, instanceId, null, List.of(), 0, null, null);
  }

  /**
   * The invocation in progress.
   *
   * @param turns model calls answered so far (the next call is turn {@code turns + 1})
   * @param pending the tool calls of the last reply, in the model's order
   * @param requested call ids dispatched (a {@code ToolCallRequested} exists)
   * @param results call id → output of the calls answered in this turn
   */
  public record Invocation(
      @JsonProperty("id") String id,
      @JsonProperty("number") int number,
      @JsonProperty("started_at") Instant startedAt,
      @JsonProperty("turns") int turns,
      @JsonProperty("repair_asked") boolean repairAsked,
      @JsonProperty("pending") List<ToolCall> pending,
      @JsonProperty("requested") List<String> requested,
      @JsonProperty("results") Map<String, String> results,
      @JsonProperty("tool_calls") int toolCalls,
      @JsonProperty("usage") Usage usage,
      @JsonProperty("provider") String provider,
      @JsonProperty("model") String model) implements JsonSerializable {

    public Invocation {
      pending = pending == null ? List.of() : List.copyOf(pending);
      requested = requested == null ? List.of() : List.copyOf(requested);
      results = results == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(results));
      usage = usage == null ? Usage.ZERO : usage;
    }

    /** The pending calls without a recorded result: what a recovered instance still has to run. */
    public List<ToolCall> unanswered() {
      return pending.stream().filter(c -> !results.containsKey(c.id())).toList();
    }

    public boolean waitingForTools() {
      return !unanswered().isEmpty();
    }
  }

  public boolean busy() {
    return current != null;
  }

  /**
   * Tool calls of the conversation's last model reply that have no result in it: an invocation that
   * ended at {@code max_iterations} leaves them. Providers refuse a conversation with a call unanswered,
   * so the next invocation answers them first.
   */
  public List<ToolCall> danglingToolCalls() {
    for (int i = memory.size() - 1; i >= 0; i--) {
      ChatMessage m = memory.get(i);
      if (!"assistant".equals(m.role())) continue;
      List<String> answered = memory.subList(i + 1, memory.size()).stream()
          .filter(later -> "tool".equals(later.role())).map(ChatMessage::toolCallId).toList();
      return m.toolCalls().stream().filter(c -> !answered.contains(c.id())).toList();
    }
    return List.of();
  }

  public AgentState apply(AgentEvent event) {
    if (event instanceof InvocationStarted e) return started(e);
    if (current == null || !current.id().equals(event.invocationId())) return this; // never written so
    if (event instanceof ModelReplied e) return replied(e);
    if (event instanceof ToolCallRequested e) return requested(e);
    if (event instanceof ToolResultRecorded e) return recorded(e);
    if (event instanceof RepairRequested e) {
      Invocation inv = new Invocation(current.id(), current.number(), current.startedAt(), current.turns(), true,
          List.of(), List.of(), Map.of(), current.toolCalls(), current.usage(), current.provider(), current.model());
      return withMemory(inv, ChatMessage.user(e.message()));
    }
    if (event instanceof AnswerGiven e) {
      return finished(new AgentAnswer(instanceId, current.id(), agent.name(), agent.version(), e.result(), null, null,
          current.usage(), current.provider(), current.model(), current.turns(), current.toolCalls(),
          current.startedAt(), e.at()));
    }
    if (event instanceof InvocationFailed e) {
      return finished(new AgentAnswer(instanceId, current.id(), agent.name(), agent.version(), null, e.code(),
          e.message(), current.usage(), current.provider(), current.model(), current.turns(), current.toolCalls(),
          current.startedAt(), e.at()));
    }
    return this;
  }

  private AgentState started(InvocationStarted e) {
    List<ChatMessage> next = new ArrayList<>(memory);
    next.addAll(e.messages());
    Invocation inv = new Invocation(e.invocationId(), e.number(), e.at(), 0, false, List.of(), List.of(), Map.of(), 0,
        Usage.ZERO, null, null);
    return new AgentState(tenantId, instanceId, agent == null ? e.agent() : agent, next, e.number(), inv, last);
  }

  private AgentState replied(ModelReplied e) {
    Invocation inv = new Invocation(current.id(), current.number(), current.startedAt(), e.turn(),
        current.repairAsked(), e.toolCalls(), List.of(), Map.of(), current.toolCalls() + e.toolCalls().size(),
        current.usage().plus(e.usage() == null ? Usage.ZERO : e.usage()), e.provider(), e.model());
    return withMemory(inv, ChatMessage.assistant(e.text(), e.toolCalls()));
  }

  private AgentState requested(ToolCallRequested e) {
    List<String> requested = new ArrayList<>(current.requested());
    if (!requested.contains(e.callId())) requested.add(e.callId());
    Invocation inv = new Invocation(current.id(), current.number(), current.startedAt(), current.turns(),
        current.repairAsked(), current.pending(), requested, current.results(), current.toolCalls(), current.usage(),
        current.provider(), current.model());
    return new AgentState(tenantId, instanceId, agent, memory, invocations, inv, last);
  }

  private AgentState recorded(ToolResultRecorded e) {
    Map<String, String> results = new LinkedHashMap<>(current.results());
    results.put(e.callId(), e.output());
    Invocation inv = new Invocation(current.id(), current.number(), current.startedAt(), current.turns(),
        current.repairAsked(), current.pending(), current.requested(), results, current.toolCalls(), current.usage(),
        current.provider(), current.model());
    return withMemory(inv, ChatMessage.tool(e.callId(), e.output()));
  }

  private AgentState withMemory(Invocation inv, ChatMessage message) {
    List<ChatMessage> next = new ArrayList<>(memory);
    next.add(message);
    return new AgentState(tenantId, instanceId, agent, next, invocations, inv, last);
  }

  private AgentState finished(AgentAnswer answer) {
    return new AgentState(tenantId, instanceId, agent, memory, invocations, null, answer);
  }
}
