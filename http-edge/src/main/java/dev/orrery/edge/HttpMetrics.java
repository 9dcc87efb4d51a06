package dev.orrery.edge;

import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.mapResponse;

import dev.orrery.core.Instrumentation;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import kamon.Kamon;
import kamon.metric.Counter;
import kamon.metric.Timer;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Every answer of the edge as {@code http_server_requests_total{route,method,status}} and
 * {@code http_server_request_seconds{route,method}} (until the response starts: a stream's length is not
 * its latency). {@code route} is the path's template — ids become {@code {id}} — so the label set stays
 * as small as the API: resources and words the API defines are kept, any other segment is a parameter,
 * and a path under no known resource is {@code other}.
 */
final class HttpMetrics {
  /** The first segment under /api/v1 (and the top-level paths) that name a resource. */
  private static final Set<String> RESOURCES = Set.of("runs", "tenants", "agents", "tools", "budgets", "auth",
      "usage", "audit");
  /** The fixed words that follow a resource or a parameter. */
  private static final Set<String> WORDS = Set.of("stream", "events", "state", "replay", "fork", "diff", "journal",
      "approvals", "cancel", "keys", "versions", "execute", "invoke", "kill-switch", "status", "token");
  private static final Set<String> TOP = Set.of("health", "ready", "metrics");

  /** A route, method and status's instruments. */
  private record Instruments(Counter requests, Timer latency) {}

  private HttpMetrics() {}

  static Route measured(Route inner) {
    if (!Instrumentation.enabled()) return inner;
    // Resolved once per edge (looking them up by their tags on every request cost about 1 % of a gateway
    // call), and kept with this edge rather than the class: a JVM that stops its last node starts Kamon
    // again for the next (the tests), and instruments resolved before no longer reach its scrape. Bounded
    // like the label set: templates, the methods pekko-http accepts, statuses.
    Map<String, Instruments> resolved = new ConcurrentHashMap<>();
    return extractRequest(request -> {
      long started = System.nanoTime();
      String route = template(request.getUri().path());
      String method = request.method().value();
      return mapResponse(response -> {
        int status = response.status().intValue();
        Instruments instruments = resolved.computeIfAbsent(route + " " + method + " " + status, k -> new Instruments(
            Kamon.counter("http.server.requests").withTag("route", route).withTag("method", method)
                .withTag("status", String.valueOf(status)),
            Kamon.timer("http.server.request").withTag("route", route).withTag("method", method)));
        instruments.requests().increment();
        instruments.latency().record(System.nanoTime() - started);
        return response;
      }, () -> inner);
    });
  }

  /** {@code /api/v1/runs/3f2a…/stream} → {@code /api/v1/runs/{id}/stream}. */
  static String template(String path) {
    List<String> parts = segments(path);
    if (parts.size() == 1 && TOP.contains(parts.get(0))) return "/" + parts.get(0);
    if (parts.size() >= 2 && parts.get(0).equals("v1")
        && (parts.get(1).equals("models") || parts.get(1).equals("chat"))) {
      return parts.size() == 3 && parts.get(2).equals("completions") ? "/v1/chat/completions" : "/v1/" + parts.get(1);
    }
    if (parts.size() < 3 || !parts.get(0).equals("api") || !parts.get(1).equals("v1")
        || !RESOURCES.contains(parts.get(2))) {
      return "other";
    }
    StringBuilder t = new StringBuilder("/api/v1/").append(parts.get(2));
    for (String part : parts.subList(3, parts.size())) t.append('/').append(WORDS.contains(part) ? part : "{id}");
    return t.toString();
  }

  /** The path's non-empty segments. By hand: two regexes per request were 1 % of a gateway call's CPU. */
  private static List<String> segments(String path) {
    List<String> parts = new ArrayList<>(6);
    int i = 0;
    while (i < path.length()) {
      while (i < path.length() && path.charAt(i) == '/') i++;
      int start = i;
      while (i < path.length() && path.charAt(i) != '/') i++;
      if (i > start) parts.add(path.substring(start, i));
    }
    return parts;
  }
}
