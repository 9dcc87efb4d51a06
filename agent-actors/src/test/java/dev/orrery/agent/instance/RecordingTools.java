package dev.orrery.agent.instance;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.port.ToolSpec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/** Tools for agent tests: each answers with a function of its arguments, and every call is recorded. */
public final class RecordingTools implements AgentTools {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One call as the agent made it. */
  public record Call(String tenantId, String key, String tool, String arguments) {}

  private final Map<String, Function<String, CompletionStage<String>>> tools = new ConcurrentHashMap<>();
  private final List<Call> calls = new CopyOnWriteArrayList<>();

  public RecordingTools with(String name, Function<String, CompletionStage<String>> answer) {
    tools.put(name, answer);
    return this;
  }

  public RecordingTools withAnswer(String name, String output) {
    return with(name, args -> CompletableFuture.completedFuture(output));
  }

  public List<Call> calls() {
    return List.copyOf(calls);
  }

  public List<Call> calls(String tool) {
    return calls.stream().filter(c -> c.tool().equals(tool)).toList();
  }

  @Override
  public List<ToolSpec> specs(List<String> names) {
    return names.stream().filter(tools::containsKey).map(n -> new ToolSpec(n, "the " + n + " tool", schema())).toList();
  }

  @Override
  public CompletionStage<String> call(String tenantId, String idempotencyKey, String tool, String argumentsJson) {
    calls.add(new Call(tenantId, idempotencyKey, tool, argumentsJson));
    var answer = tools.get(tool);
    if (answer == null) return CompletableFuture.failedFuture(new IllegalArgumentException("no tool " + tool));
    return answer.apply(argumentsJson);
  }

  private static com.fasterxml.jackson.databind.JsonNode schema() {
    try {
      return JSON.readTree("{\"type\":\"object\",\"properties\":{\"input\":{\"type\":\"string\"}}}");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
