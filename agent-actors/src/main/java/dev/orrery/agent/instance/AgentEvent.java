package dev.orrery.agent.instance;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.agent.definition.AgentVersion;
import dev.orrery.core.JsonSerializable;
import dev.orrery.core.port.ChatMessage;
import dev.orrery.core.port.ToolCall;
import dev.orrery.core.port.Usage;
import java.time.Instant;
import java.util.List;

/** What happened to an agent instance, turn by turn. Every event names the invocation it belongs to. */
public sealed interface AgentEvent extends JsonSerializable {
  String invocationId();

  /**
   * An invocation began: the messages it adds to the conversation (the system prompt on the first
   * one, then the task). {@code agent} is the version the instance is pinned to, set on the first.
   */
  record InvocationStarted(
      @JsonProperty("invocation_id") String invocationId,
      @JsonProperty("number") int number,
      @JsonProperty("agent") AgentVersion agent,
      @JsonProperty("messages") List<ChatMessage> messages,
      @JsonProperty("at") Instant at) implements AgentEvent {}

  /** The model answered turn {@code turn}: text, tool calls, or both, and what it cost. */
  record ModelReplied(
      @JsonProperty("invocation_id") String invocationId,
      @JsonProperty("turn") int turn,
      @JsonProperty("text") String text,
      @JsonProperty("tool_calls") List<ToolCall> toolCalls,
      @JsonProperty("usage") Usage usage,
      @JsonProperty("provider") String provider,
      @JsonProperty("model") String model,
      @JsonProperty("at") Instant at) implements AgentEvent {
    public ModelReplied {
      toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }
  }

  /** A tool call is dispatched with {@code idempotencyKey}; after a crash it is dispatched again with the same key. */
  record ToolCallRequested(
      @JsonProperty("invocation_id") String invocationId,
      @JsonProperty("turn") int turn,
      @JsonProperty("call_id") String callId,
      @JsonProperty("tool") String tool,
      @JsonProperty("arguments") String arguments,
      @JsonProperty("idempotency_key") String idempotencyKey) implements AgentEvent {}

  /** A tool call's result (or why it failed): once recorded, the call is never made again. */
  record ToolResultRecorded(
      @JsonProperty("invocation_id") String invocationId,
      @JsonProperty("turn") int turn,
      @JsonProperty("call_id") String callId,
      @JsonProperty("tool") String tool,
      @JsonProperty("output") String output,
      @JsonProperty("failed") boolean failed,
      @JsonProperty("duration_ms") long durationMs) implements AgentEvent {}

  /** The answer did not satisfy the output schema: the model is asked, once, to repair it. */
  record RepairRequested(
      @JsonProperty("invocation_id") String invocationId,
      @JsonProperty("turn") int turn,
      @JsonProperty("problems") List<String> problems,
      @JsonProperty("message") String message) implements AgentEvent {}

  /** The final answer: JSON when the agent has an output schema, else a text node. */
  record AnswerGiven(
      @JsonProperty("invocation_id") String invocationId,
      @JsonProperty("result") JsonNode result,
      @JsonProperty("at") Instant at) implements AgentEvent {}

  /** The invocation ended without an answer: {@code code} is MAX_ITERATIONS, INVALID_OUTPUT, or the port's. */
  record InvocationFailed(
      @JsonProperty("invocation_id") String invocationId,
      @JsonProperty("code") String code,
      @JsonProperty("message") String message,
      @JsonProperty("at") Instant at) implements AgentEvent {}
}
