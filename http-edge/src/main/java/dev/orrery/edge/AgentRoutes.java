package dev.orrery.edge;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;
import static org.apache.pekko.http.javadsl.server.Directives.withRequestTimeout;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.agent.Agents;
import dev.orrery.agent.definition.AgentDefinition;
import dev.orrery.agent.definition.AgentDefinitionException;
import dev.orrery.agent.definition.AgentVersion;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.port.AgentAnswer;
import dev.orrery.core.port.AgentFailure;
import dev.orrery.core.port.StepFailure;
import dev.orrery.edge.auth.AuthDirectives;
import dev.orrery.ledger.tenant.Role;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code /api/v1/agents}: agents as data, per tenant. Developers create versions (a YAML or JSON
 * definition; the new version becomes the active one); any key lists the active agents, an agent's
 * versions, and executes an agent. The bundled examples are visible to every tenant; what a tenant
 * creates, only to it.
 *
 * <p>{@code POST /agents/{name}/execute} takes {@code {"task_description", "context", "instance_id",
 * "version"}} and answers {@code {"result", "metadata": {"agent_id", "version", "model", "provider",
 * "tokens_used", "timestamp", …}, "processing_time_ms"}}. An {@code Idempotency-Key} header makes a
 * retry join (or read) the same invocation instead of running it again.
 */
public final class AgentRoutes {
  private final Agents agents;
  private final AuthDirectives auth;
  private final JsonRoutes routes;
  private final Clock clock;

  public AgentRoutes(Agents agents, AuthDirectives auth, JsonRoutes routes, Clock clock) {
    this.agents = agents;
    this.auth = auth;
    this.routes = routes;
    this.clock = clock;
  }

  public Route route() {
    AuthDirectives.Refusals refusals = routes.errors()::response;
    return pathPrefix("agents", () -> concat(
        pathEndOrSingleSlash(() -> concat(
            post(() -> auth.mutating(Role.DEVELOPER, "agent.create", refusals,
                caller -> routes.withBody(body -> routes.answer(() -> create(caller.tenantId(), body))))),
            get(() -> auth.authenticated(Role.VIEWER, refusals,
                caller -> routes.answer(() -> list(caller.tenantId())))))),
        pathPrefix(PathMatchers.segment(), name -> concat(
            path("versions", () -> get(() -> auth.authenticated(Role.VIEWER, refusals,
                caller -> routes.answer(() -> versions(caller.tenantId(), name))))),
            path("execute", () -> post(() -> auth.mutating(Role.DEVELOPER, "agent.execute", refusals,
                caller -> optionalHeaderValueByName("Idempotency-Key", key -> withRequestTimeout(
                    agents.executeTimeout().plusSeconds(5), () -> routes.withBody(body -> completeWithFuture(
                        execute(caller.tenantId(), name, body, key))))))))))));
  }

  private CompletionStage<HttpResponse> create(String tenantId, String body) {
    AgentDefinition definition;
    try {
      definition = AgentDefinition.read(body, "agent definition");
    } catch (AgentDefinitionException e) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, e.getMessage(), Map.of("problems", e.problems()));
    }
    return agents.create(tenantId, definition).handle((v, error) -> {
      if (error != null) throw failure(error);
      Map<String, Object> out = summary(v);
      out.put("active", true);
      out.put("created_at", v.createdAt());
      out.put("definition", v.definition());
      return routes.ok(StatusCodes.CREATED, out);
    });
  }

  private CompletionStage<HttpResponse> list(String tenantId) {
    return agents.active(tenantId).thenApply(active ->
        routes.ok(StatusCodes.OK, Map.of("agents", active.stream().map(AgentRoutes::summary).toList())));
  }

  private CompletionStage<HttpResponse> versions(String tenantId, String name) {
    return agents.versions(tenantId, name).handle((versions, error) -> {
      if (error != null) throw failure(error);
      List<Map<String, Object>> list = versions.stream().map(v -> {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("version", v.version());
        m.put("bundled", v.bundled());
        m.put("created_at", v.createdAt());
        m.put("definition", v.definition());
        return m;
      }).toList();
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("name", name);
      out.put("active_version", versions.get(versions.size() - 1).version());
      out.put("versions", list);
      return routes.ok(StatusCodes.OK, out);
    });
  }

  private CompletionStage<HttpResponse> execute(String tenantId, String name, String body, Optional<String> key) {
    long started = System.nanoTime();
    return routes.guarded(() -> {
      if (key.isPresent() && (key.get().isBlank() || key.get().length() > 255)) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, "Idempotency-Key must be 1..255 characters");
      }
      JsonNode request = routes.readObject(body);
      JsonNode task = request.get("task_description");
      if (task == null || !task.isTextual() || task.asText().isBlank()) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, "'task_description' is required and must be a string");
      }
      JsonNode context = request.get("context");
      String instanceId = text(request, "instance_id");
      Integer version = null;
      JsonNode v = request.get("version");
      if (v != null && !v.isNull()) {
        if (!v.isIntegralNumber() || v.asInt() < 1) {
          throw new ApiError(ErrorCode.INVALID_REQUEST, "'version' must be a positive integer, was " + v);
        }
        version = v.asInt();
      }
      // A retried request with a key reaches the same instance and invocation, and so the same answer.
      String invocationId = key.map(k -> "key:" + k).orElse(null);
      if (instanceId == null && key.isPresent()) {
        instanceId = UUID.nameUUIDFromBytes((tenantId + "|" + name + "|" + key.get())
            .getBytes(StandardCharsets.UTF_8)).toString();
      }
      return agents.execute(tenantId, name, version, task.asText(), context, instanceId, invocationId)
          .handle((answer, error) -> {
            if (error != null) throw failure(error);
            return routes.ok(StatusCodes.OK, response(answer, started));
          });
    });
  }

  private Map<String, Object> response(AgentAnswer answer, long startedNanos) {
    Map<String, Object> metadata = new LinkedHashMap<>();
    metadata.put("agent_id", answer.agent());
    metadata.put("version", answer.version());
    metadata.put("model", answer.model());
    metadata.put("provider", answer.provider());
    metadata.put("tokens_used", answer.usage().tokensIn() + answer.usage().tokensOut());
    metadata.put("timestamp", answer.finishedAt() != null ? answer.finishedAt() : clock.instant());
    metadata.put("instance_id", answer.instanceId());
    metadata.put("invocation_id", answer.invocationId());
    metadata.put("usage", answer.usage());
    metadata.put("turns", answer.turns());
    metadata.put("tool_calls", answer.toolCalls());
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("result", answer.result());
    out.put("metadata", metadata);
    out.put("processing_time_ms", (System.nanoTime() - startedNanos) / 1_000_000);
    return out;
  }

  private static Map<String, Object> summary(AgentVersion v) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", v.name());
    m.put("category", v.definition().category());
    m.put("description", v.definition().description());
    m.put("version", v.version());
    m.put("tools", v.definition().tools());
    m.put("bundled", v.bundled());
    return m;
  }

  private static String text(JsonNode request, String field) {
    JsonNode n = request.get(field);
    if (n == null || n.isNull()) return null;
    if (!n.isTextual() || n.asText().isBlank()) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "'" + field + "' must be a non-blank string, was " + n);
    }
    return n.asText();
  }

  /**
   * The port's failures in the envelope: a code of the contract keeps its status; an agent that ran and
   * ended without an answer (max_iterations, an answer invalid after its repair) is a 500 whose details
   * say why and where (the instance, its turns and tokens), never a stack trace.
   */
  private static RuntimeException failure(Throwable error) {
    Throwable t = error;
    while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
    if (t instanceof AgentFailure f) {
      AgentAnswer a = f.answer();
      Optional<ErrorCode> code = contractCode(a.errorCode());
      Map<String, Object> details = new LinkedHashMap<>();
      details.put("reason", a.errorCode());
      details.put("agent_id", a.agent());
      details.put("version", a.version());
      details.put("instance_id", a.instanceId());
      details.put("invocation_id", a.invocationId());
      details.put("turns", a.turns());
      details.put("tokens_used", a.usage().tokensIn() + a.usage().tokensOut());
      return new ApiError(code.orElse(ErrorCode.INTERNAL),
          "agent '" + a.agent() + "' failed: " + a.errorMessage(), details);
    }
    if (t instanceof StepFailure f) {
      return new ApiError(contractCode(f.code()).orElse(ErrorCode.INTERNAL), f.getMessage());
    }
    return t instanceof RuntimeException r ? r : new CompletionException(t);
  }

  private static Optional<ErrorCode> contractCode(String code) {
    try {
      return Optional.of(ErrorCode.valueOf(code));
    } catch (IllegalArgumentException | NullPointerException notOne) {
      return Optional.empty();
    }
  }
}
