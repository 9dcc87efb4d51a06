package dev.orrery.ledger.tenant;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import dev.orrery.core.JsonSerializable;

/**
 * What a tenant tells every node at once, on the cluster-wide topic {@link #TOPIC}: nodes keep answers
 * of the tenant (reservations it cannot refuse, keys it accepts) to spare a round trip per call, and drop
 * them when the tenant changes what they were based on.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
    @JsonSubTypes.Type(value = TenantNews.LimitsChanged.class, name = "limits_changed"),
    @JsonSubTypes.Type(value = TenantNews.KeyRevoked.class, name = "key_revoked")})
public sealed interface TenantNews extends JsonSerializable {
  String TOPIC = "tenant-news";

  String tenantId();

  /**
   * A budget was set or the kill switch turned: a node stops granting the tenant's reservations itself.
   * {@code limitsVersion} is the tenant's version after the change, so a grant from before is stale.
   */
  record LimitsChanged(
      @JsonProperty("tenant_id") String tenantId,
      @JsonProperty("limits_version") long limitsVersion) implements TenantNews {}

  /** The key stops working on every node now, as do the tokens minted from it. */
  record KeyRevoked(
      @JsonProperty("tenant_id") String tenantId,
      @JsonProperty("key_id") String keyId) implements TenantNews {}

  /** Where a tenant tells it: the node's topic, or nowhere (tests). */
  @FunctionalInterface
  interface Announcer {
    Announcer NONE = news -> {};

    void announce(TenantNews news);
  }
}
