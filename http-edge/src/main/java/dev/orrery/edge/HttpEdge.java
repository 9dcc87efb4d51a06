package dev.orrery.edge;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.concat;
import static org.apache.pekko.http.javadsl.server.Directives.get;
import static org.apache.pekko.http.javadsl.server.Directives.handleExceptions;
import static org.apache.pekko.http.javadsl.server.Directives.handleRejections;
import static org.apache.pekko.http.javadsl.server.Directives.onSuccess;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.edge.gateway.ChatCompletionsRoutes;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Binds the node's HTTP port: {@code /health}, everything under {@code /api/v1} with one error envelope
 * for every failure, and the OpenAI-compatible gateway under {@code /v1}. The binding is registered with coordinated shutdown so that a stopping
 * node stops accepting, lets requests in flight finish, then closes.
 */
public final class HttpEdge {
  private HttpEdge() {}

  /** The resources under {@code /api/v1}, each guarding its own routes. */
  public record Api(RunRoutes runs, TenantRoutes tenants, BudgetRoutes budgets, AuthRoutes auth,
      ReportRoutes reports, ToolRoutes tools, AgentRoutes agents) {}

  /**
   * @param readiness whether the node should get traffic (the same answer as management's {@code /ready}):
   *     {@code /ready} answers 200 or 503
   * @param metrics the Prometheus text exposition, served at {@code /metrics} for scrapers (no credential,
   *     like {@code /health}: keep the port inside the cluster's network)
   */
  public static Route routes(ObjectMapper json, Api api, ChatCompletionsRoutes gateway,
      Supplier<CompletionStage<Boolean>> readiness, Supplier<String> metrics) {
    ErrorEnvelope errors = new ErrorEnvelope(json);
    // Made once, outside the directives: a directive's inner route is evaluated again for every request,
    // and the handlers (the rejection handler writes its JSON answers as it is built) and the resources'
    // route trees were made anew for each call (a few % of a node's CPU under the gateway's load).
    ExceptionHandler exceptions = errors.exceptionHandler();
    RejectionHandler rejections = errors.rejectionHandler();
    Route resources = concat(api.runs().route(), api.tenants().route(), api.budgets().route(), api.auth().route(),
        api.reports().route(), api.tools().route(), api.agents().route());
    Route gatewayRoute = gateway.route();
    return HttpMetrics.measured(handleExceptions(exceptions, () -> handleRejections(rejections, () -> concat(
        path("health", () -> get(() -> complete(HttpResponse.create()
            .withEntity(ContentTypes.APPLICATION_JSON, "{\"status\":\"ok\"}")))),
        path("metrics", () -> get(() -> complete(HttpResponse.create().withEntity(ContentTypes.TEXT_PLAIN_UTF8, metrics.get())))),
        path("ready", () -> get(() -> onSuccess(readiness.get(), ready -> complete(HttpResponse.create()
            .withStatus(ready ? StatusCodes.OK : StatusCodes.SERVICE_UNAVAILABLE)
            .withEntity(ContentTypes.APPLICATION_JSON, ready ? "{\"status\":\"ready\"}" : "{\"status\":\"not ready\"}"))))),
        pathPrefix("api", () -> pathPrefix("v1", () -> resources)),
        gatewayRoute))));
  }

  public static CompletionStage<ServerBinding> bind(ActorSystem<?> system, EdgeSettings settings, Route routes) {
    return Http.get(system).newServerAt(settings.host(), settings.port()).bind(routes)
        .thenApply(binding -> binding.addToCoordinatedShutdown(settings.drainTimeout(), system));
  }
}
