package dev.orrery.cluster.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.agent.instance.AgentTools;
import dev.orrery.core.port.ToolSpec;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The tools of the agent tests' nodes: {@code echo} answers its {@code text} argument; {@code gate} answers
 * what the test says, and until then holds the call (a tool still running when the node stops). Every
 * call is recorded with its idempotency key.
 */
final class TestTools implements AgentTools {
  private static final ObjectMapper JSON = new ObjectMapper();

  record Call(String tenantId, String key, String tool, String arguments) {}

  private final List<Call> calls = new CopyOnWriteArrayList<>();
  private final AtomicReference<CompletableFuture<String>> gate = new AtomicReference<>(new CompletableFuture<>());

  List<Call> calls() {
    return List.copyOf(calls);
  }

  List<Call> calls(String tool) {
    return calls.stream().filter(c -> c.tool().equals(tool)).toList();
  }

  void clear() {
    calls.clear();
  }

  /** From now on the gate answers at once. */
  void openGate(String output) {
    gate.get().complete(output);
  }

  @Override
  public List<ToolSpec> specs(List<String> names) {
    return names.stream().filter(n -> n.equals("echo") || n.equals("gate")).map(n -> new ToolSpec(n,
        n.equals("echo") ? "Answers its text argument" : "Answers when the test lets it", schema())).toList();
  }

  @Override
  public CompletionStage<String> call(String tenantId, String idempotencyKey, String tool, String argumentsJson) {
    calls.add(new Call(tenantId, idempotencyKey, tool, argumentsJson));
    if (tool.equals("gate")) return gate.get();
    try {
      return CompletableFuture.completedFuture("echo: " + JSON.readTree(argumentsJson).path("text").asText());
    } catch (IOException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private static JsonNode schema() {
    return JSON.createObjectNode().put("type", "object")
        .set("properties", JSON.createObjectNode().set("text", JSON.createObjectNode().put("type", "string")));
  }
}
