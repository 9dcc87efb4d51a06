package dev.orrery.edge;

import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.port.ToolInvocation;
import dev.orrery.core.port.ToolPort;
import dev.orrery.core.port.ToolResult;
import dev.orrery.core.port.ToolSpec;
import dev.orrery.edge.auth.AuthDirectives;
import dev.orrery.ledger.tenant.Role;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code /api/v1/tools}: the node's sandboxed tools, listed with their argument schemas, and called on
 * their own ({@code POST /tools/{name}/invoke {"arguments": {…}}} → {@code {output, exit_code, truncated,
 * duration_ms}}, with {@code error} when the tool failed). The same tools serve {@code tool} nodes and
 * agents.
 */
public final class ToolRoutes {
  /** Refusals of the call itself, before any tool ran: the caller's to fix. */
  private static final Set<String> CALLER_ERRORS = Set.of("INVALID_ARGUMENTS", "FORBIDDEN");

  private final ToolPort tools;
  private final AuthDirectives auth;
  private final JsonRoutes routes;

  public ToolRoutes(ToolPort tools, AuthDirectives auth, JsonRoutes routes) {
    this.tools = tools;
    this.auth = auth;
    this.routes = routes;
  }

  public Route route() {
    AuthDirectives.Refusals refusals = routes.errors()::response;
    return pathPrefix("tools", () -> concat(
        pathEndOrSingleSlash(() -> get(() -> auth.authenticated(Role.VIEWER, refusals,
            caller -> routes.answer(() -> java.util.concurrent.CompletableFuture.completedFuture(
                routes.ok(StatusCodes.OK, Map.of("tools", listing()))))))),
        pathPrefix(PathMatchers.segment(), name -> path("invoke", () -> post(() -> auth.mutating(Role.DEVELOPER,
            "tool.invoke", refusals, caller -> optionalHeaderValueByName("Idempotency-Key", key ->
                routes.withBody(body -> routes.answer(() -> invoke(caller.tenantId(), name, body, key))))))))));
  }

  /** The tools in the shape of the edge contract: {@code name, description, input_schema}. */
  public List<Map<String, Object>> listing() {
    return tools.tools().stream().map(ToolRoutes::entry).toList();
  }

  /** Whether this node offers a tool of that name (a submit checks its tool nodes against it). */
  public boolean offers(String name) {
    return tools.tools().stream().anyMatch(t -> t.name().equals(name));
  }

  private static Map<String, Object> entry(ToolSpec t) {
    Map<String, Object> e = new LinkedHashMap<>();
    e.put("name", t.name());
    e.put("description", t.description());
    e.put("input_schema", t.parameters());
    return e;
  }

  private CompletionStage<HttpResponse> invoke(String tenant, String name, String body, Optional<String> key) {
    JsonNode tree = routes.readObject(body);
    JsonNode arguments = tree.path("arguments");
    if (!arguments.isObject()) throw new ApiError(ErrorCode.INVALID_REQUEST, "'arguments' must be an object");
    if (!offers(name)) {
      throw new ApiError(ErrorCode.NOT_FOUND, "no tool '" + name + "'; tools: "
          + tools.tools().stream().map(ToolSpec::name).toList());
    }
    String idempotencyKey = "api/" + key.orElseGet(() -> UUID.randomUUID().toString());
    return tools.call(new ToolInvocation(idempotencyKey, tenant, name, arguments, null)).thenApply(result -> {
      if (result.error() && CALLER_ERRORS.contains(result.errorCode())) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, result.message(), Map.of("tool_error", result.errorCode()));
      }
      return routes.ok(StatusCodes.OK, answer(result));
    });
  }

  private static Map<String, Object> answer(ToolResult r) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("output", r.output());
    out.put("exit_code", r.exitCode() != null ? r.exitCode() : r.error() ? -1 : 0);
    out.put("truncated", r.truncated());
    out.put("duration_ms", r.durationMs());
    if (r.error()) out.put("error", Map.of("code", r.errorCode(), "message", r.message() == null ? "" : r.message()));
    return out;
  }
}
