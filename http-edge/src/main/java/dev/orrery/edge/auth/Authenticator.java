package dev.orrery.edge.auth;

import dev.orrery.core.ErrorCode;
import dev.orrery.edge.ApiError;
import dev.orrery.ledger.tenant.Role;
import dev.orrery.ledger.tenant.TenantEntity;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * Turns an {@code Authorization} header into a {@link Principal}: {@code Bearer <api key>} is checked
 * against its tenant's key hashes, {@code Bearer <JWT>} by its signature and, when it was minted from one
 * of our keys, by that key still being active, so revoking a key stops its tokens at once. Every failure is
 * the same {@code UNAUTHENTICATED}: nothing of the key or token is echoed, nothing says which part failed.
 */
public final class Authenticator {
  private static final String BEARER = "Bearer ";
  private static final String FAILED = "missing or invalid credentials";

  private final ClusterSharding sharding;
  private final JwtService jwt;
  private final Optional<String> adminKeySha256;
  private final Duration askTimeout;

  /** @param adminKeySha256 the SHA-256 of the configured platform admin key, if one is configured */
  public Authenticator(ActorSystem<?> system, JwtService jwt, Optional<String> adminKeySha256, Duration askTimeout) {
    this.sharding = ClusterSharding.get(system);
    this.jwt = jwt;
    this.adminKeySha256 = adminKeySha256;
    this.askTimeout = askTimeout;
  }

  public CompletionStage<Principal> authenticate(Optional<String> authorization) {
    if (authorization.isEmpty() || !authorization.get().startsWith(BEARER)) return refused();
    String credential = authorization.get().substring(BEARER.length()).strip();
    if (credential.isEmpty()) return refused();
    if (adminKeySha256.isPresent() && ApiKeys.sameHash(adminKeySha256.get(), ApiKeys.sha256Hex(credential))) {
      return CompletableFuture.completedFuture(
          new Principal(Principal.PLATFORM_TENANT, "admin-key", Role.ADMIN, true, "platform-admin-key"));
    }
    Optional<ApiKeys.ParsedKey> key = ApiKeys.parse(credential);
    if (key.isPresent()) {
      ApiKeys.ParsedKey k = key.get();
      return role(k.tenantId(), k.keyId(), k.sha256()).thenApply(role -> principal(k.tenantId(), k.keyId(), role,
          k.keyId()));
    }
    JwtService.VerifiedToken token;
    try {
      token = jwt.verify(credential);
    } catch (AuthException e) {
      return refused();
    }
    if (token.keyId() == null) {
      // An identity provider's token: signature and expiry checked, and its tenant must exist. It never
      // makes a platform admin: that takes a key of ours.
      if (Principal.PLATFORM_TENANT.equals(token.tenantId())) return refused();
      return tenantExists(token.tenantId()).thenApply(exists -> new Principal(token.tenantId(), null, token.role(),
          false, "jwt:" + token.tenantId()));
    }
    // Minted from one of our keys: it lives only as long as the key does, and never above the key's role.
    return role(token.tenantId(), token.keyId(), null).thenApply(keyRole -> principal(token.tenantId(), token.keyId(),
        keyRole.allows(token.role()) ? token.role() : keyRole, token.keyId()));
  }

  /** The role of an active key, or the one refusal. */
  public CompletionStage<Role> role(String tenantId, String keyId, String sha256) {
    if (!ApiKeys.validTenantId(tenantId)) return refused();
    return sharding.entityRefFor(TenantEntity.KEY, tenantId)
        .<Role>askWithStatus(replyTo -> new TenantEntity.Authenticate(keyId, sha256, replyTo), askTimeout)
        .exceptionallyCompose(error -> {
          Throwable cause = error.getCause() != null ? error.getCause() : error;
          // A ledger that did not answer is our failure, not the caller's credentials.
          if (cause instanceof java.util.concurrent.TimeoutException) return CompletableFuture.failedFuture(cause);
          return refused();
        });
  }

  private CompletionStage<Boolean> tenantExists(String tenantId) {
    if (!ApiKeys.validTenantId(tenantId)) return refused();
    return sharding.entityRefFor(TenantEntity.KEY, tenantId)
        .<TenantEntity.TenantView>askWithStatus(TenantEntity.Get::new, askTimeout)
        .thenApply(view -> true)
        .exceptionallyCompose(error -> {
          Throwable cause = error.getCause() != null ? error.getCause() : error;
          if (cause instanceof java.util.concurrent.TimeoutException) return CompletableFuture.failedFuture(cause);
          return refused();
        });
  }

  private static Principal principal(String tenantId, String keyId, Role role, String rateKey) {
    return new Principal(tenantId, keyId, role, Principal.PLATFORM_TENANT.equals(tenantId) && role == Role.ADMIN,
        rateKey);
  }

  private static <T> CompletionStage<T> refused() {
    return CompletableFuture.failedFuture(new ApiError(ErrorCode.UNAUTHENTICATED, FAILED));
  }
}
