package dev.orrery.edge.auth;

import dev.orrery.core.ErrorCode;
import dev.orrery.edge.ApiError;
import dev.orrery.ledger.tenant.Role;
import dev.orrery.ledger.tenant.TenantEntity;
import dev.orrery.ledger.tenant.TenantNews;
import dev.orrery.ledger.tenant.Tenants;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;

/**
 * Turns an {@code Authorization} header into a {@link Principal}: {@code Bearer <api key>} is checked
 * against its tenant's key hashes, {@code Bearer <JWT>} by its signature and, when it was minted from one
 * of our keys, by that key still being active, so revoking a key stops its tokens at once. Every failure is
 * the same {@code UNAUTHENTICATED}: nothing of the key or token is echoed, nothing says which part failed.
 *
 * <p>A key the tenant accepted is remembered on this node for {@code keyCacheTtl}, so a request does not
 * wait for the tenant's entity (busy with its ledger's writes) every time; a revocation is told to every
 * node on the tenants' topic and ends the key here at once.
 */
public final class Authenticator {
  private static final String BEARER = "Bearer ";
  private static final String FAILED = "missing or invalid credentials";
  private static final int MAX_ACCEPTED_KEYS = 100_000;

  private final Tenants tenants;
  private final JwtService jwt;
  private final Optional<String> adminKeySha256;
  private final long keyCacheTtlNanos;
  private final Map<String, AcceptedKey> accepted = new ConcurrentHashMap<>();
  /** Keys revoked while this node ran: an answer about one that arrives after its revocation is not kept. */
  private final Set<String> revoked = ConcurrentHashMap.newKeySet();

  private record AcceptedKey(String sha256, Role role, long expiresAtNanos) {}

  /**
   * @param adminKeySha256 the SHA-256 of the configured platform admin key, if one is configured
   * @param news the tenants' topic, where key revocations are told
   */
  public Authenticator(ActorSystem<?> system, Tenants tenants, JwtService jwt, Optional<String> adminKeySha256,
      Duration keyCacheTtl, ActorRef<Topic.Command<TenantNews>> news) {
    this.tenants = tenants;
    this.jwt = jwt;
    this.adminKeySha256 = adminKeySha256;
    this.keyCacheTtlNanos = keyCacheTtl.toNanos();
    ActorRef<TenantNews> listener = system.systemActorOf(Behaviors.receive(TenantNews.class)
        .onMessage(TenantNews.KeyRevoked.class, k -> {
          revoked.add(cacheKey(k.tenantId(), k.keyId()));
          accepted.remove(cacheKey(k.tenantId(), k.keyId()));
          return Behaviors.same();
        })
        .onAnyMessage(other -> Behaviors.same())
        .build(), "auth-key-revocations", Props.empty());
    news.tell(Topic.subscribe(listener));
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

  /** The role of an active key (checked against its hash when one is given), or the one refusal. */
  public CompletionStage<Role> role(String tenantId, String keyId, String sha256) {
    if (!ApiKeys.validTenantId(tenantId)) return refused();
    String cacheKey = cacheKey(tenantId, keyId);
    AcceptedKey known = accepted.get(cacheKey);
    if (known != null && System.nanoTime() < known.expiresAtNanos()
        && (sha256 == null || ApiKeys.sameHash(known.sha256(), sha256))) {
      return CompletableFuture.completedFuture(known.role());
    }
    return orRefused(tenants.<Role>ask(tenantId, replyTo -> new TenantEntity.Authenticate(keyId, sha256, replyTo))
        .thenApply(role -> {
          if (keyCacheTtlNanos > 0 && !revoked.contains(cacheKey)) {
            if (accepted.size() > MAX_ACCEPTED_KEYS) accepted.clear();
            accepted.put(cacheKey, new AcceptedKey(sha256, role, System.nanoTime() + keyCacheTtlNanos));
          }
          return role;
        }));
  }

  private CompletionStage<Boolean> tenantExists(String tenantId) {
    if (!ApiKeys.validTenantId(tenantId)) return refused();
    return orRefused(tenants.get(tenantId).thenApply(view -> true));
  }

  /** Any refusal of the tenant is the one refusal; a tenant that did not answer is our failure, not theirs. */
  private static <T> CompletionStage<T> orRefused(CompletionStage<T> asked) {
    return asked.exceptionallyCompose(error -> {
      Throwable cause = error.getCause() != null ? error.getCause() : error;
      if (cause instanceof java.util.concurrent.TimeoutException) return CompletableFuture.failedFuture(cause);
      return refused();
    });
  }

  private static String cacheKey(String tenantId, String keyId) {
    return tenantId + "|" + keyId;
  }

  private static Principal principal(String tenantId, String keyId, Role role, String rateKey) {
    return new Principal(tenantId, keyId, role, Principal.PLATFORM_TENANT.equals(tenantId) && role == Role.ADMIN,
        rateKey);
  }

  private static <T> CompletionStage<T> refused() {
    return CompletableFuture.failedFuture(new ApiError(ErrorCode.UNAUTHENTICATED, FAILED));
  }
}
