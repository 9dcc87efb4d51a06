package dev.orrery.agent.instance;

import dev.orrery.core.port.ToolPort;
import dev.orrery.core.port.ToolSpec;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * What an agent needs from the node's tools: their specs to offer the model, and a way to call one. The
 * node adapts its tool sandbox to this; a call with an idempotency key it has already answered must
 * answer the same again without running the tool twice.
 */
public interface AgentTools {

  /** The specs of those of {@code names} this node offers, in the order asked; unknown names are left out. */
  List<ToolSpec> specs(List<String> names);

  /**
   * Runs a tool. The stage completes with the tool's output as text (what the model reads), or fails
   * when the tool could not run; the agent tells the model either way.
   *
   * @param argumentsJson the arguments the model wrote, a JSON object as text
   */
  CompletionStage<String> call(String tenantId, String idempotencyKey, String tool, String argumentsJson);

  /** The same, its span a child of the one {@code traceparent} names (the agent's step). */
  default CompletionStage<String> call(String tenantId, String idempotencyKey, String tool, String argumentsJson,
      String traceparent) {
    return call(tenantId, idempotencyKey, tool, argumentsJson);
  }

  /** The node's tool port as agents see it ({@link ToolPortAgentTools}). */
  static AgentTools from(ToolPort tools) {
    return new ToolPortAgentTools(tools);
  }

  /** A node without tools: agents that name tools still run, and are offered none. */
  AgentTools NONE = new AgentTools() {
    @Override
    public List<ToolSpec> specs(List<String> names) {
      return List.of();
    }

    @Override
    public CompletionStage<String> call(String tenantId, String idempotencyKey, String tool, String argumentsJson) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("no tool named '" + tool + "' on this node"));
    }
  };
}
