package dev.orrery.cluster;

import dev.orrery.core.ErrorCode;
import dev.orrery.edge.auth.ApiKeys;
import dev.orrery.edge.auth.Principal;
import dev.orrery.ledger.tenant.Role;
import dev.orrery.ledger.tenant.Tenants;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * What a node makes on its first start against an empty database: the {@code demo} tenant with an admin
 * key and, unless {@code ORRERY_ADMIN_KEY} is set, a platform admin key. Each key exists only in what this
 * start returns (printed once by {@code orrery serve}); later starts find the tenants and mint nothing.
 */
public final class Bootstrap {
  /** A key minted by this start, for the one time it is shown. */
  public record MintedKey(String tenantId, Role role, String key) {}

  private Bootstrap() {}

  static List<MintedKey> run(Tenants tenants, String demoTenant, boolean platformKeyConfigured, Duration timeout)
      throws Exception {
    List<MintedKey> minted = new ArrayList<>();
    if (!platformKeyConfigured) firstAdminKey(tenants, Principal.PLATFORM_TENANT, "platform", timeout).ifPresent(minted::add);
    firstAdminKey(tenants, demoTenant, "Demo tenant", timeout).ifPresent(minted::add);
    return List.copyOf(minted);
  }

  /** Creates the tenant with an admin key if it does not exist yet. */
  private static Optional<MintedKey> firstAdminKey(Tenants tenants, String tenantId, String name, Duration timeout)
      throws Exception {
    if (exists(tenants, tenantId, timeout)) return Optional.empty();
    tenants.create(tenantId, name, null).toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    ApiKeys.IssuedKey key = ApiKeys.generate(tenantId);
    tenants.issueKey(tenantId, key.keyId(), key.sha256(), Role.ADMIN, "first admin key")
        .toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    return Optional.of(new MintedKey(tenantId, Role.ADMIN, key.key()));
  }

  private static boolean exists(Tenants tenants, String tenantId, Duration timeout) throws Exception {
    try {
      tenants.get(tenantId).toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause() instanceof CompletionException && e.getCause().getCause() != null
          ? e.getCause().getCause() : e.getCause();
      if (ErrorCode.codeOf(cause.getMessage()).orElse(null) == ErrorCode.NOT_FOUND) return false;
      throw e;
    }
  }
}
