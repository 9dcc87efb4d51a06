package dev.orrery.ledger.tenant;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;

/**
 * A tenant's limits changed (a budget set, the kill switch turned): every node stops granting its
 * reservations locally and asks the tenant again. Published on a cluster-wide topic; {@code limitsVersion}
 * is the tenant's version after the change, so a grant decided before it is recognised as stale.
 */
public record LeaseRevoked(
    @JsonProperty("tenant_id") String tenantId,
    @JsonProperty("limits_version") long limitsVersion) implements JsonSerializable {

  /** Where a tenant announces it: the node's topic, or nowhere (tests). */
  @FunctionalInterface
  public interface Announcer {
    Announcer NONE = revoked -> {};

    void announce(LeaseRevoked revoked);
  }
}
