package dev.orrery.edge.auth;

import dev.orrery.ledger.tenant.Role;

/**
 * Who is calling: the tenant every route now takes its objects from, the key (or token) that proved it,
 * and what that key may do. A platform admin is an admin of the platform tenant (or holds the configured
 * admin key): it creates tenants and acts as admin on their tenant routes, never on their runs.
 *
 * @param rateKey what the caller's requests are counted under: the API key, also for tokens minted from it
 */
public record Principal(String tenantId, String keyId, Role role, boolean platformAdmin, String rateKey) {

  /** The tenant whose admin keys are platform admins. Not a tenant any other route can name. */
  public static final String PLATFORM_TENANT = "platform";
}
