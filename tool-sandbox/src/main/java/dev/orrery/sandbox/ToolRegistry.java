package dev.orrery.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import com.networknt.schema.resource.DisallowSchemaLoader;
import dev.orrery.core.port.ToolInvocation;
import dev.orrery.core.port.ToolPort;
import dev.orrery.core.port.ToolResult;
import dev.orrery.core.port.ToolSpec;
import dev.orrery.core.trace.SpanAttributes;
import dev.orrery.core.trace.Tracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link ToolPort}: tools by name, each call's arguments checked against the tool's JSON Schema
 * (draft 2020-12) before anything runs, and results remembered by idempotency key in a small bounded
 * cache, so that a step re-dispatched after a crash gets the first call's result instead of running the
 * tool again (keys are scoped by tenant). Tools run on the executor given (a bounded pool: blocking work stays off the actors'
 * dispatcher). A call with the same key as one still running waits for that one.
 */
public final class ToolRegistry implements ToolPort {
  private static final Logger log = LoggerFactory.getLogger(ToolRegistry.class);
  private static final JsonSchemaFactory SCHEMAS = JsonSchemaFactory.getInstance(
      SpecVersion.VersionFlag.V202012,
      builder -> builder.schemaLoaders(loaders -> loaders.add(iri ->
          // Meta-schemas come from the validator's classpath; nothing is ever fetched.
          iri.toString().startsWith("classpath:draft") ? null : DisallowSchemaLoader.getInstance().getSchema(iri))));

  private final Map<String, Registered> tools;
  private final Executor executor;
  private final Clock clock;
  private final int maxRemembered;
  private final Duration remembered;
  private final LinkedHashMap<String, Remembered> results = new LinkedHashMap<>(16, 0.75f, true);

  private record Registered(Tool tool, JsonSchema schema) {}

  private record Remembered(CompletableFuture<ToolResult> result, String tool, JsonNode arguments, Instant at) {}

  /**
   * @param maxRemembered how many results are kept by idempotency key (0: none)
   * @param remembered how long a result is kept
   */
  public ToolRegistry(Collection<Tool> tools, Executor executor, Clock clock, int maxRemembered, Duration remembered) {
    var byName = new LinkedHashMap<String, Registered>();
    for (Tool tool : tools) {
      JsonSchema schema = SCHEMAS.getSchema(tool.spec().parameters());
      schema.initializeValidators();
      if (byName.put(tool.name(), new Registered(tool, schema)) != null) {
        throw new IllegalArgumentException("two tools are named " + tool.name());
      }
    }
    this.tools = Map.copyOf(byName);
    this.executor = executor;
    this.clock = clock;
    this.maxRemembered = maxRemembered;
    this.remembered = remembered;
  }

  @Override
  public List<ToolSpec> tools() {
    return tools.values().stream().map(r -> r.tool().spec())
        .sorted(java.util.Comparator.comparing(ToolSpec::name)).toList();
  }

  @Override
  public CompletionStage<ToolResult> call(ToolInvocation invocation) {
    Registered registered = tools.get(invocation.tool());
    if (registered == null) {
      return CompletableFuture.completedFuture(ToolResult.failed(invocation.tool(), ToolErrors.UNKNOWN_TOOL,
          "no tool named '" + invocation.tool() + "'; the tools are " + String.join(", ", tools.keySet().stream().sorted().toList()), 0));
    }
    JsonNode arguments = invocation.arguments() == null ? JsonNodeFactory.instance.objectNode() : invocation.arguments();
    List<String> problems = problems(registered.schema(), arguments);
    if (!problems.isEmpty()) {
      return CompletableFuture.completedFuture(ToolResult.failed(invocation.tool(), ToolErrors.INVALID_ARGUMENTS,
          "the arguments of " + invocation.tool() + " do not match its schema: " + String.join("; ", problems), 0));
    }
    if (invocation.idempotencyKey() == null || invocation.idempotencyKey().isBlank() || maxRemembered == 0) {
      return traced(invocation, registered.tool(), arguments);
    }
    // Keys are a tenant's own: another tenant's identical key is another call.
    String key = invocation.tenantId() + "\u0000" + invocation.idempotencyKey();

    CompletableFuture<ToolResult> mine;
    synchronized (results) {
      Remembered seen = results.get(key);
      Instant now = clock.instant();
      if (seen != null && seen.at().plus(remembered).isAfter(now)) {
        if (seen.tool().equals(invocation.tool()) && seen.arguments().equals(arguments)) return seen.result();
        return CompletableFuture.completedFuture(ToolResult.failed(invocation.tool(), ToolErrors.INVALID_ARGUMENTS,
            "idempotency key '" + invocation.idempotencyKey() + "' was already used for another call", 0));
      }
      mine = new CompletableFuture<>();
      results.put(key, new Remembered(mine, invocation.tool(), arguments.deepCopy(), now));
      while (results.size() > maxRemembered) results.remove(results.keySet().iterator().next());
    }
    traced(invocation, registered.tool(), arguments).whenComplete((result, failure) -> {
      if (failure == null) {
        mine.complete(result);
      } else {
        mine.completeExceptionally(failure);
      }
      if (failure != null || (result.error() && ToolErrors.BUSY.equals(result.errorCode()))) {
        synchronized (results) { results.remove(key); } // not run: a later call may try again
      }
    });
    return mine;
  }

  /**
   * The call, in a span of its own ({@code execute_tool <name>}) under the caller's (a step's): only calls
   * that really run get one; an answer remembered by idempotency key is the earlier call's.
   */
  private CompletableFuture<ToolResult> traced(ToolInvocation invocation, Tool tool, JsonNode arguments) {
    Context parent = Tracing.parentFor(invocation.traceparent());
    if (parent == null) return start(tool, arguments, invocation.timeout());
    Span span = Tracing.tracer().spanBuilder("execute_tool " + tool.name())
        .setParent(parent)
        .setAttribute(SpanAttributes.OPERATION, "execute_tool")
        .setAttribute(SpanAttributes.TOOL, tool.name())
        .setAttribute(SpanAttributes.TENANT, invocation.tenantId())
        .startSpan();
    return start(tool, arguments, invocation.timeout()).whenComplete((result, failure) -> {
      if (failure != null) {
        span.setStatus(StatusCode.ERROR, String.valueOf(failure));
      } else {
        if (result.exitCode() != null) span.setAttribute("orrery.tool.exit_code", result.exitCode());
        span.setAttribute("orrery.tool.truncated", result.truncated());
        if (result.error()) {
          span.setAttribute(SpanAttributes.ERROR_TYPE, String.valueOf(result.errorCode()));
          span.setStatus(StatusCode.ERROR, String.valueOf(result.errorCode()));
        }
      }
      span.end();
    });
  }

  private CompletableFuture<ToolResult> start(Tool tool, JsonNode arguments, Duration asked) {
    Duration timeout = asked == null || asked.compareTo(tool.maxTimeout()) > 0 ? tool.maxTimeout() : asked;
    try {
      return CompletableFuture.supplyAsync(() -> runGuarded(tool, arguments, timeout), executor);
    } catch (RejectedExecutionException full) {
      return CompletableFuture.completedFuture(ToolResult.failed(tool.name(), ToolErrors.BUSY,
          "too many tool calls are running; try again later", 0));
    }
  }

  private ToolResult runGuarded(Tool tool, JsonNode arguments, Duration timeout) {
    long started = System.nanoTime();
    ToolResult result;
    try {
      result = tool.run(arguments, timeout);
    } catch (RuntimeException bug) {
      // A tool must answer with a result; one that throws has a bug. Report it without a stack trace.
      log.error("tool {} failed", tool.name(), bug);
      result = ToolResult.failed(tool.name(), ToolErrors.INTERNAL, "the tool failed unexpectedly", 0);
    }
    return result.withDurationMs((System.nanoTime() - started) / 1_000_000);
  }

  private static List<String> problems(JsonSchema schema, JsonNode arguments) {
    var messages = new ArrayList<String>();
    for (ValidationMessage m : schema.validate(arguments)) messages.add(m.getMessage());
    return messages.stream().sorted().collect(Collectors.toList());
  }
}
