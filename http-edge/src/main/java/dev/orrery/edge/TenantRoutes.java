package dev.orrery.edge;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.delete;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.ErrorCode;
import dev.orrery.edge.auth.ApiKeys;
import dev.orrery.edge.auth.AuthDirectives;
import dev.orrery.edge.auth.Principal;
import dev.orrery.ledger.tenant.Role;
import dev.orrery.ledger.tenant.TenantEntity;
import dev.orrery.ledger.tenant.Tenants;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code /api/v1/tenants}: the platform admin creates tenants and gives each its first keys; a tenant's
 * admins manage its keys and kill switch; any key of a tenant reads it. Another tenant's id answers 404,
 * as an unknown one does, so a key learns nothing of tenants not its own.
 */
public final class TenantRoutes {
  private final Tenants tenants;
  private final AuthDirectives auth;
  private final JsonRoutes routes;
  private final AuthDirectives.Refusals refusals;

  public TenantRoutes(Tenants tenants, AuthDirectives auth, JsonRoutes routes) {
    this.tenants = tenants;
    this.auth = auth;
    this.routes = routes;
    this.refusals = routes.errors()::response;
  }

  public Route route() {
    return pathPrefix("tenants", () -> concat(
        pathEndOrSingleSlash(() -> post(() -> auth.mutating(Role.ADMIN, "tenant.create", refusals,
            caller -> routes.withBody(body -> completeWithFuture(create(caller, body)))))),
        pathPrefix(PathMatchers.segment(), this::tenant)));
  }

  private Route tenant(String tenantId) {
    return concat(
        pathEndOrSingleSlash(() -> get(() -> own(tenantId, Role.VIEWER, null, caller -> routes.answer(
            () -> tenants.get(tenantId).thenApply(view -> routes.ok(StatusCodes.OK, view)))))),
        pathPrefix("keys", () -> concat(
            pathEndOrSingleSlash(() -> concat(
                post(() -> own(tenantId, Role.ADMIN, "key.issue",
                    caller -> routes.withBody(body -> completeWithFuture(issueKey(tenantId, body))))),
                get(() -> own(tenantId, Role.ADMIN, null, caller -> routes.answer(() -> tenants.keys(tenantId)
                    .thenApply(keys -> routes.ok(StatusCodes.OK, Map.of("keys", keys)))))))),
            path(PathMatchers.segment(), keyId -> delete(() -> own(tenantId, Role.ADMIN, "key.revoke", caller -> routes.answer(
                () -> tenants.<TenantEntity.KeyInfo>ask(tenantId, replyTo -> new TenantEntity.RevokeKey(keyId, replyTo))
                    .thenApply(key -> routes.ok(StatusCodes.OK, key)))))))),
        path("kill-switch", () -> post(() -> own(tenantId, Role.ADMIN, "kill_switch.set",
            caller -> routes.withBody(body -> completeWithFuture(killSwitch(tenantId, body)))))));
  }

  /**
   * A route on one tenant: its own keys (with the role) or the platform admin. Any other caller gets the
   * 404 an unknown tenant gets. {@code action}, when not null, names what the audit log records.
   */
  private Route own(String tenantId, Role needed, String action, Function<Principal, Route> inner) {
    Function<Principal, Route> checked = caller -> {
      boolean ownTenant = caller.tenantId().equals(tenantId) || caller.platformAdmin();
      if (!ownTenant) return complete(routes.errors().response(ErrorCode.NOT_FOUND, "tenant " + tenantId + " not found", null));
      if (!caller.platformAdmin() && !caller.role().allows(needed)) {
        return complete(routes.errors().response(ErrorCode.FORBIDDEN, "this key's role (" + caller.role().wireName()
            + ") may not do this; it needs " + needed.wireName(), null));
      }
      return inner.apply(caller);
    };
    return action == null ? auth.authenticated(Role.VIEWER, refusals, checked)
        : auth.mutating(Role.VIEWER, action, refusals, checked);
  }

  private CompletionStage<HttpResponse> create(Principal caller, String body) {
    return routes.guarded(() -> {
      if (!caller.platformAdmin()) throw new ApiError(ErrorCode.FORBIDDEN, "only the platform admin creates tenants");
      JsonNode tree = routes.readObject(body);
      String tenantId = tree.path("tenant_id").asText("");
      if (!ApiKeys.validTenantId(tenantId) || Principal.PLATFORM_TENANT.equals(tenantId)) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, "tenant_id must match [a-z0-9][a-z0-9-]{0,62} and not be '"
            + Principal.PLATFORM_TENANT + "', was '" + tenantId + "'");
      }
      Integer maxActiveRuns = tree.hasNonNull("max_active_runs") ? positive(tree, "max_active_runs") : null;
      String name = tree.path("name").asText(tenantId);
      return tenants.get(tenantId).handle((existing, missing) -> existing)
          .thenCompose(existing -> {
            if (existing != null) {
              return CompletableFuture.failedFuture(new ApiError(ErrorCode.CONFLICT, "tenant " + tenantId + " exists"));
            }
            return tenants.create(tenantId, name, maxActiveRuns)
                .thenApply(view -> routes.ok(StatusCodes.CREATED, view));
          });
    });
  }

  /** The key is shown here, once; the tenant keeps only its hash. */
  private CompletionStage<HttpResponse> issueKey(String tenantId, String body) {
    return routes.guarded(() -> {
      JsonNode tree = routes.readObject(body);
      Role role;
      try {
        role = Role.of(tree.path("role").asText(null));
      } catch (IllegalArgumentException e) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, e.getMessage());
      }
      String name = tree.hasNonNull("name") ? tree.get("name").asText() : null;
      ApiKeys.IssuedKey key = ApiKeys.generate(tenantId);
      return tenants.issueKey(tenantId, key.keyId(), key.sha256(), role, name).thenApply(info -> {
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("key_id", info.keyId());
        answer.put("key", key.key());
        answer.put("role", info.role());
        if (info.name() != null) answer.put("name", info.name());
        answer.put("created_at", info.createdAt());
        return routes.ok(StatusCodes.CREATED, answer);
      });
    });
  }

  private CompletionStage<HttpResponse> killSwitch(String tenantId, String body) {
    return routes.guarded(() -> {
      JsonNode tree = routes.readObject(body);
      JsonNode on = tree.path("on");
      if (!on.isMissingNode() && !on.isBoolean()) throw new ApiError(ErrorCode.INVALID_REQUEST, "'on' must be true or false");
      boolean turnOn = on.isMissingNode() || on.asBoolean();
      String reason = tree.hasNonNull("reason") ? tree.get("reason").asText() : null;
      return tenants.<TenantEntity.TenantView>ask(tenantId,
              replyTo -> new TenantEntity.SetKillSwitch(turnOn, reason, replyTo))
          .thenApply(view -> routes.ok(StatusCodes.OK, view));
    });
  }

  static int positive(JsonNode tree, String field) {
    JsonNode n = tree.get(field);
    if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() <= 0) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "'" + field + "' must be a positive integer, was " + n);
    }
    return n.asInt();
  }
}
