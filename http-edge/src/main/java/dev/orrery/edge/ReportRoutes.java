package dev.orrery.edge;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.path;

import dev.orrery.core.ErrorCode;
import dev.orrery.edge.audit.AuditLog;
import dev.orrery.edge.auth.AuthDirectives;
import dev.orrery.ledger.tenant.Role;
import dev.orrery.ledger.usage.UsageQueries;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * What a tenant spent and who did what: {@code GET /api/v1/usage?group_by=run,node,provider,model,day&from=&to=}
 * (any key; days in UTC, inclusive; this month by default) from the usage read side, and
 * {@code GET /api/v1/audit?limit=&before=} (admins) from the audit log, newest first.
 */
public final class ReportRoutes {
  private static final int MAX_AUDIT_PAGE = 500;

  private final UsageQueries usage;
  private final AuditLog audit;
  private final AuthDirectives auth;
  private final JsonRoutes routes;
  private final Clock clock;

  public ReportRoutes(UsageQueries usage, AuditLog audit, AuthDirectives auth, JsonRoutes routes, Clock clock) {
    this.usage = usage;
    this.audit = audit;
    this.auth = auth;
    this.routes = routes;
    this.clock = clock;
  }

  public Route route() {
    AuthDirectives.Refusals refusals = routes.errors()::response;
    return concat(
        path("usage", () -> get(() -> auth.authenticated(Role.VIEWER, refusals, caller ->
            parameterOptional("group_by", groupBy -> parameterOptional("from", from -> parameterOptional("to",
                to -> completeWithFuture(usage(caller.tenantId(), groupBy, from, to)))))))),
        path("audit", () -> get(() -> auth.authenticated(Role.ADMIN, refusals, caller ->
            parameterOptional("limit", limit -> parameterOptional("before",
                before -> completeWithFuture(audit(caller.tenantId(), limit, before))))))));
  }

  private CompletionStage<HttpResponse> usage(String tenantId, Optional<String> groupBy, Optional<String> from,
      Optional<String> to) {
    return routes.guarded(() -> {
      List<String> groups = new ArrayList<>();
      for (String g : groupBy.orElse("").split(",")) {
        String name = g.strip();
        if (name.isEmpty()) continue;
        if (!UsageQueries.GROUPS.containsKey(name)) {
          throw new ApiError(ErrorCode.INVALID_REQUEST, "group_by takes run, node, provider, model and day, was '"
              + name + "'");
        }
        if (!groups.contains(name)) groups.add(name);
      }
      LocalDate today = LocalDate.now(clock.withZone(ZoneOffset.UTC));
      LocalDate first = day("from", from).orElse(today.withDayOfMonth(1));
      LocalDate last = day("to", to).orElse(today);
      if (last.isBefore(first)) throw new ApiError(ErrorCode.INVALID_REQUEST, "'to' is before 'from'");
      return usage.usage(tenantId, groups, first, last).thenApply(rows -> {
        long calls = 0, in = 0, out = 0, cost = 0;
        for (UsageQueries.Row r : rows) {
          calls += r.calls();
          in += r.tokensIn();
          out += r.tokensOut();
          cost += r.costMicros();
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("tenant_id", tenantId);
        body.put("from", first.toString());
        body.put("to", last.toString());
        body.put("group_by", groups);
        body.put("rows", rows);
        body.put("totals", Map.of("calls", calls, "tokens_in", in, "tokens_out", out, "cost_micros", cost));
        return routes.ok(StatusCodes.OK, body);
      });
    });
  }

  private CompletionStage<HttpResponse> audit(String tenantId, Optional<String> limit, Optional<String> before) {
    return routes.guarded(() -> {
      int page = limit.map(l -> number("limit", l)).orElse(100L).intValue();
      if (page < 1 || page > MAX_AUDIT_PAGE) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, "limit must be within 1.." + MAX_AUDIT_PAGE + ", was " + page);
      }
      Long beforeId = before.map(b -> number("before", b)).orElse(null);
      return audit.recent(tenantId, page, beforeId).thenApply(entries -> {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("entries", entries);
        if (entries.size() == page) body.put("next_before", entries.get(entries.size() - 1).id());
        return routes.ok(StatusCodes.OK, body);
      });
    });
  }

  private static Optional<LocalDate> day(String name, Optional<String> text) {
    if (text.isEmpty()) return Optional.empty();
    try {
      return Optional.of(LocalDate.parse(text.get()));
    } catch (DateTimeParseException e) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "'" + name + "' must be a day as 2026-11-23, was '" + text.get() + "'");
    }
  }

  private static long number(String name, String text) {
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "'" + name + "' must be an integer, was '" + text + "'");
    }
  }
}
