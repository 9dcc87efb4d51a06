package dev.orrery.edge;

import static org.apache.pekko.http.javadsl.server.Directives.completeWithFuture;
import static org.apache.pekko.http.javadsl.server.Directives.path;
import static org.apache.pekko.http.javadsl.server.Directives.pathPrefix;
import static org.apache.pekko.http.javadsl.server.Directives.post;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.ErrorCode;
import dev.orrery.edge.auth.ApiKeys;
import dev.orrery.edge.auth.Authenticator;
import dev.orrery.edge.auth.JwtService;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code POST /api/v1/auth/token}: an API key in the body ({@code {"api_key"}}) for a short-lived JWT with
 * the key's tenant and role. The token lives only as long as its key: revoking the key stops it too.
 */
public final class AuthRoutes {
  private final Authenticator authenticator;
  private final JwtService jwt;
  private final JsonRoutes routes;

  public AuthRoutes(Authenticator authenticator, JwtService jwt, JsonRoutes routes) {
    this.authenticator = authenticator;
    this.jwt = jwt;
    this.routes = routes;
  }

  public Route route() {
    return pathPrefix("auth", () -> path("token", () -> post(() -> routes.withBody(
        body -> completeWithFuture(token(body))))));
  }

  private CompletionStage<HttpResponse> token(String body) {
    return routes.guarded(() -> {
      JsonNode tree = routes.readObject(body);
      Optional<ApiKeys.ParsedKey> key = ApiKeys.parse(tree.path("api_key").asText(""));
      if (key.isEmpty()) throw new ApiError(ErrorCode.UNAUTHENTICATED, "missing or invalid credentials");
      ApiKeys.ParsedKey k = key.get();
      return authenticator.role(k.tenantId(), k.keyId(), k.sha256()).thenApply(role -> {
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("access_token", jwt.issue(k.tenantId(), k.keyId(), role));
        answer.put("token_type", "Bearer");
        answer.put("expires_in", jwt.ttl().toSeconds());
        return routes.ok(StatusCodes.OK, answer);
      });
    });
  }
}
