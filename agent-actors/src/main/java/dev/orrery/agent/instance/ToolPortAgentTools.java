package dev.orrery.agent.instance;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.port.ToolInvocation;
import dev.orrery.core.port.ToolPort;
import dev.orrery.core.port.ToolSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The node's tool port (the sandbox) as agents see it: the specs of the tools it offers, and calls whose
 * failures — a bad argument, a program's non-zero exit, a timeout — fail the stage with the tool's code,
 * message and whatever the program printed, which the agent passes to the model.
 */
final class ToolPortAgentTools implements AgentTools {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ToolPort tools;

  ToolPortAgentTools(ToolPort tools) {
    this.tools = tools;
  }

  @Override
  public List<ToolSpec> specs(List<String> names) {
    List<ToolSpec> offered = tools.tools();
    List<ToolSpec> out = new ArrayList<>();
    for (String name : names) offered.stream().filter(t -> t.name().equals(name)).findFirst().ifPresent(out::add);
    return out;
  }

  @Override
  public CompletionStage<String> call(String tenantId, String idempotencyKey, String tool, String argumentsJson) {
    return call(tenantId, idempotencyKey, tool, argumentsJson, null);
  }

  @Override
  public CompletionStage<String> call(String tenantId, String idempotencyKey, String tool, String argumentsJson,
      String traceparent) {
    JsonNode arguments;
    try {
      arguments = JSON.readTree(argumentsJson == null || argumentsJson.isBlank() ? "{}" : argumentsJson);
    } catch (JsonProcessingException e) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("the arguments are not JSON: "
          + e.getOriginalMessage()));
    }
    return tools.call(new ToolInvocation(idempotencyKey, tenantId, tool, arguments, null, traceparent)).thenApply(r -> {
      if (!r.error()) return r.output();
      throw new IllegalStateException(r.errorCode() + ": " + r.message()
          + (r.output().isBlank() ? "" : "\noutput:\n" + r.output()));
    });
  }
}
