package dev.orrery.ledger.tenant;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;
import java.time.Instant;
import java.util.List;

/**
 * Everything a tenant decided. Each event carries the time its command handler read from the clock; the
 * budget window an amount counts in is derived from that time, so folding the journal never reads a clock.
 */
public sealed interface TenantEvent extends JsonSerializable {

  Instant at();

  record TenantCreated(
      @JsonProperty("tenant_id") String tenantId,
      @JsonProperty("name") String name,
      @JsonProperty("max_active_runs") int maxActiveRuns,
      @JsonProperty("at") Instant at) implements TenantEvent {}

  /** A null limit means that period has no limit of that kind. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record BudgetSet(
      @JsonProperty("period") BudgetPeriod period,
      @JsonProperty("limit_cents") Long limitCents,
      @JsonProperty("token_limit") Long tokenLimit,
      @JsonProperty("at") Instant at) implements TenantEvent {}

  record MaxActiveRunsSet(
      @JsonProperty("max_active_runs") int maxActiveRuns,
      @JsonProperty("at") Instant at) implements TenantEvent {}

  /** Only the key's SHA-256 is kept: the key itself was shown to its owner once and never stored. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record ApiKeyIssued(
      @JsonProperty("key_id") String keyId,
      @JsonProperty("sha256") String sha256,
      @JsonProperty("role") Role role,
      @JsonProperty("name") String name,
      @JsonProperty("at") Instant at) implements TenantEvent {}

  record ApiKeyRevoked(
      @JsonProperty("key_id") String keyId,
      @JsonProperty("at") Instant at) implements TenantEvent {}

  /** While on, no new LLM call of the tenant is made. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record KillSwitchSet(
      @JsonProperty("on") boolean on,
      @JsonProperty("reason") String reason,
      @JsonProperty("at") Instant at) implements TenantEvent {}

  /** An LLM call's estimate, held against every budget until it is settled or released. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Reserved(
      @JsonProperty("reservation_id") String reservationId,
      @JsonProperty("run_id") String runId,
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("tokens") long tokens,
      @JsonProperty("cost_micros") long costMicros,
      @JsonProperty("at") Instant at) implements TenantEvent {}

  /** What the call actually used: the charge, attributed to its run, node, provider and model. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Settled(
      @JsonProperty("reservation_id") String reservationId,
      @JsonProperty("run_id") String runId,
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("tokens_in") long tokensIn,
      @JsonProperty("tokens_out") long tokensOut,
      @JsonProperty("cost_micros") long costMicros,
      @JsonProperty("provider") String provider,
      @JsonProperty("model") String model,
      @JsonProperty("at") Instant at) implements TenantEvent {}

  /**
   * The calls one batch of the ledger settled one after the other, persisted as one event: one journal row
   * and one tag row for the batch instead of one each per call (under the gateway's load, writing and
   * reading back an event per call was most of what the ledger cost). Folds exactly as its settlements one
   * by one; a batch with a single settlement is persisted as a plain {@link Settled}.
   */
  record SettledBatch(
      @JsonProperty("settled") List<Settled> settled,
      @JsonProperty("at") Instant at) implements TenantEvent {
    public SettledBatch {
      settled = List.copyOf(settled);
    }
  }

  /** The call failed without cost; what it held is free again. */
  record Released(
      @JsonProperty("reservation_id") String reservationId,
      @JsonProperty("at") Instant at) implements TenantEvent {}

  /**
   * Spending crossed {@code percent} (80 or 100) of a budget's {@code kind} ({@code cost} or {@code tokens})
   * in a period's window: a soft alert, shown by the API; enforcement is the reservation's business.
   */
  record BudgetAlerted(
      @JsonProperty("period") BudgetPeriod period,
      @JsonProperty("window") String window,
      @JsonProperty("kind") String kind,
      @JsonProperty("percent") int percent,
      @JsonProperty("used") long used,
      @JsonProperty("limit") long limit,
      @JsonProperty("at") Instant at) implements TenantEvent {}

  /** A run of the tenant started or ended: what the limit on concurrently active runs counts. */
  record RunAdmitted(
      @JsonProperty("run_id") String runId,
      @JsonProperty("at") Instant at) implements TenantEvent {}

  record RunEnded(
      @JsonProperty("run_id") String runId,
      @JsonProperty("at") Instant at) implements TenantEvent {}
}
