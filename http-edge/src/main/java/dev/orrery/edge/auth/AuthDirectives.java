package dev.orrery.edge.auth;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.extractUri;
import static org.apache.pekko.http.javadsl.server.Directives.mapResponse;
import static org.apache.pekko.http.javadsl.server.Directives.onComplete;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;
import static org.apache.pekko.http.javadsl.server.Directives.parameterOptional;
import static org.apache.pekko.http.javadsl.server.Directives.respondWithHeaders;

import dev.orrery.core.ErrorCode;
import dev.orrery.edge.ApiError;
import dev.orrery.edge.audit.AuditLog;
import dev.orrery.ledger.tenant.Role;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The one way into a protected route: authenticate, count the request against the caller's key
 * (answering 429 past its limit), then check the role. Every authenticated answer, refusals included,
 * carries the {@code X-RateLimit-*} headers.
 */
public final class AuthDirectives {

  /** Renders a refusal in the shape of the routes it guards (our envelope, or OpenAI's on the gateway). */
  public interface Refusals {
    HttpResponse refusal(ErrorCode code, String message, Map<String, Object> details);
  }

  private final Authenticator authenticator;
  private final KeyRateLimiter limiter;
  private final AuditLog audit;

  public AuthDirectives(Authenticator authenticator, KeyRateLimiter limiter, AuditLog audit) {
    this.authenticator = authenticator;
    this.limiter = limiter;
    this.audit = audit;
  }

  public Route authenticated(Role needed, Refusals refusals, Function<Principal, Route> inner) {
    return guarded(needed, null, refusals, inner);
  }

  /**
   * A route that changes something: as {@link #authenticated}, and once the caller is known its answer,
   * refusals included, is written to the audit log as {@code action} on the request's path.
   */
  public Route mutating(Role needed, String action, Refusals refusals, Function<Principal, Route> inner) {
    return guarded(needed, action, refusals, inner);
  }

  /**
   * As {@link #authenticated}, also taking the credential from an {@code access_token} query parameter:
   * a browser cannot set headers on a WebSocket. The header wins when both are given. Nothing of ours logs
   * request URIs, so the token is not written anywhere.
   */
  public Route authenticatedAllowingQueryToken(Role needed, Refusals refusals, Function<Principal, Route> inner) {
    return parameterOptional("access_token", token -> optionalHeaderValueByName("Authorization", header ->
        withCredential(header.isPresent() ? header : token.map(t -> "Bearer " + t), needed, null, refusals, inner)));
  }

  private Route guarded(Role needed, String action, Refusals refusals, Function<Principal, Route> inner) {
    return optionalHeaderValueByName("Authorization", header -> withCredential(header, needed, action, refusals, inner));
  }

  private Route withCredential(Optional<String> header, Role needed, String action, Refusals refusals,
      Function<Principal, Route> inner) {
    return onComplete(authenticator.authenticate(header), tried -> {
      if (tried.isFailure()) return complete(unauthenticated(refusals, tried.failed().get()));
      Principal principal = tried.get();
      if (action == null) return checked(principal, needed, refusals, inner);
      return extractUri(uri -> mapResponse(response -> {
        audit.record(principal.tenantId(), principal.keyId(), action, uri.path(), response.status().intValue());
        return response;
      }, () -> checked(principal, needed, refusals, inner)));
    });
  }

  /** Counts the request against the caller's key, then checks the role. */
  private Route checked(Principal principal, Role needed, Refusals refusals, Function<Principal, Route> inner) {
    KeyRateLimiter.Decision decision = limiter.acquire(principal.rateKey());
    List<HttpHeader> headers = new ArrayList<>();
    decision.headers().forEach((name, value) -> headers.add(RawHeader.create(name, value)));
    if (!decision.allowed()) {
      HttpResponse refused = refusals.refusal(ErrorCode.RATE_LIMIT_EXCEEDED, "rate limit of " + decision.limit()
          + " requests per minute exceeded for this key", Map.of("retry_after", decision.retryAfterSeconds()));
      return complete(refused.withHeaders(headersBut(refused, "Retry-After", headers)));
    }
    return respondWithHeaders(headers, () -> principal.role().allows(needed) ? inner.apply(principal)
        : complete(refusals.refusal(ErrorCode.FORBIDDEN, "this key's role (" + principal.role().wireName()
            + ") may not do this; it needs " + needed.wireName(), Map.of())));
  }

  private static HttpResponse unauthenticated(Refusals refusals, Throwable failure) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    if (cause instanceof ApiError e && e.code() == ErrorCode.UNAUTHENTICATED) {
      HttpResponse refused = refusals.refusal(ErrorCode.UNAUTHENTICATED, e.getMessage(), Map.of());
      // Our envelope carries the challenge already; OpenAI's shape (the gateway) does not.
      return refused.getHeader("WWW-Authenticate").isPresent() ? refused
          : refused.addHeader(RawHeader.create("WWW-Authenticate", "Bearer"));
    }
    // The ledger did not answer: our failure, not the caller's credentials.
    return refusals.refusal(ErrorCode.TIMEOUT, "could not check the credentials in time; try again", Map.of());
  }

  /** The response's headers without {@code name}, then {@code added} (which has the right value of it). */
  private static List<HttpHeader> headersBut(HttpResponse response, String name, List<HttpHeader> added) {
    List<HttpHeader> all = new ArrayList<>();
    for (HttpHeader h : response.getHeaders()) {
      if (!h.name().equalsIgnoreCase(name)) all.add(h);
    }
    all.addAll(added);
    return all;
  }
}
