package dev.orrery.core.port;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * The one way to run an agent: a workflow's {@code agent} node and the HTTP edge call it. The stage
 * completes with the answer. It fails with a {@link dev.orrery.core.port.StepFailure} when the invocation
 * could not start ({@code NOT_FOUND}, {@code INVALID_REQUEST}, {@code CONFLICT} for a busy instance), and
 * with an {@link AgentFailure} when it ran and ended without an answer ({@code MAX_ITERATIONS},
 * {@code INVALID_OUTPUT}, or the LLM port's code such as {@code PROVIDER_UNAVAILABLE} or
 * {@code BUDGET_EXCEEDED}).
 */
public interface AgentPort {

  /**
   * @param version a version to run, or null for the active one (an existing instance keeps its own)
   * @param context extra input for the task, checked against the agent's {@code input_schema}; may be null
   * @param instanceId an instance to continue (its memory is the conversation so far), or null for a new one
   * @param invocationId identifies this invocation: the same id again (a retry, a re-dispatched step) joins
   *     or returns the same answer instead of running twice; null for a fresh one
   * @param traceparent the span (a step's) the agent's LLM and tool calls belong to, or null
   */
  CompletionStage<AgentAnswer> execute(String tenantId, String agentName, Integer version, String task,
      JsonNode context, String instanceId, String invocationId, String traceparent);

  default CompletionStage<AgentAnswer> execute(String tenantId, String agentName, Integer version, String task,
      JsonNode context, String instanceId, String invocationId) {
    return execute(tenantId, agentName, version, task, context, instanceId, invocationId, null);
  }

  default CompletionStage<AgentAnswer> execute(String tenantId, String agentName, Integer version, String task,
      JsonNode context, String instanceId) {
    return execute(tenantId, agentName, version, task, context, instanceId, null);
  }

  /**
   * The version of each named agent a new invocation would run now: the tenant's active one. A run pins
   * these when it is accepted and asks for exactly them later, so redefining an agent changes new runs
   * only. Names the tenant does not have are left out (a step naming one fails {@code NOT_FOUND} when it
   * runs, as it would have). The stage fails when the versions cannot be read (the registry did not
   * answer in time).
   */
  CompletionStage<Map<String, Integer>> activeVersions(String tenantId, Set<String> agentNames);
}
