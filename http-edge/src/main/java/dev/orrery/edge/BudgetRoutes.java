package dev.orrery.edge;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathEndOrSingleSlash;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.ErrorCode;
import dev.orrery.edge.auth.AuthDirectives;
import dev.orrery.ledger.tenant.BudgetPeriod;
import dev.orrery.ledger.tenant.Role;
import dev.orrery.ledger.tenant.TenantEntity;
import dev.orrery.ledger.tenant.Tenants;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code /api/v1/budgets}: the caller's tenant's budgets. Admins set a period's limits
 * ({@code {"period", "limit_cents", "token_limit"}}, null or absent for no limit of that kind); any key
 * reads the status: what is spent and held in each period's current window, and the soft alerts.
 */
public final class BudgetRoutes {
  private final Tenants tenants;
  private final AuthDirectives auth;
  private final JsonRoutes routes;

  public BudgetRoutes(Tenants tenants, AuthDirectives auth, JsonRoutes routes) {
    this.tenants = tenants;
    this.auth = auth;
    this.routes = routes;
  }

  public Route route() {
    AuthDirectives.Refusals refusals = routes.errors()::response;
    return pathPrefix("budgets", () -> concat(
        pathEndOrSingleSlash(() -> post(() -> auth.mutating(Role.ADMIN, "budget.set", refusals,
            caller -> routes.withBody(body -> completeWithFuture(set(caller.tenantId(), body)))))),
        path("status", () -> get(() -> auth.authenticated(Role.VIEWER, refusals,
            caller -> routes.answer(() -> tenants
                .<TenantEntity.BudgetStatus>ask(caller.tenantId(), TenantEntity.GetBudgetStatus::new)
                .thenApply(status -> routes.ok(StatusCodes.OK, status))))))));
  }

  private CompletionStage<HttpResponse> set(String tenantId, String body) {
    return routes.guarded(() -> {
      JsonNode tree = routes.readObject(body);
      BudgetPeriod period;
      try {
        period = BudgetPeriod.of(tree.path("period").asText(null));
      } catch (IllegalArgumentException e) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, e.getMessage());
      }
      Long limitCents = amount(tree, "limit_cents");
      Long tokenLimit = amount(tree, "token_limit");
      return tenants.<TenantEntity.BudgetStatus>ask(tenantId,
              replyTo -> new TenantEntity.SetBudget(period, limitCents, tokenLimit, replyTo))
          .thenApply(status -> routes.ok(StatusCodes.OK, status));
    });
  }

  private static Long amount(JsonNode tree, String field) {
    JsonNode n = tree.get(field);
    if (n == null || n.isNull()) return null;
    if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 0) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "'" + field + "' must be a non-negative integer or null, was " + n);
    }
    return n.asLong();
  }
}
