package dev.orrery.ledger.tenant;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;
import dev.orrery.ledger.tenant.TenantEvent.ApiKeyIssued;
import dev.orrery.ledger.tenant.TenantEvent.ApiKeyRevoked;
import dev.orrery.ledger.tenant.TenantEvent.BudgetAlerted;
import dev.orrery.ledger.tenant.TenantEvent.BudgetSet;
import dev.orrery.ledger.tenant.TenantEvent.KillSwitchSet;
import dev.orrery.ledger.tenant.TenantEvent.MaxActiveRunsSet;
import dev.orrery.ledger.tenant.TenantEvent.Released;
import dev.orrery.ledger.tenant.TenantEvent.Reserved;
import dev.orrery.ledger.tenant.TenantEvent.RunAdmitted;
import dev.orrery.ledger.tenant.TenantEvent.RunEnded;
import dev.orrery.ledger.tenant.TenantEvent.Settled;
import dev.orrery.ledger.tenant.TenantEvent.SettledBatch;
import dev.orrery.ledger.tenant.TenantEvent.TenantCreated;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.pcollections.HashTreePMap;
import org.pcollections.HashTreePSet;
import org.pcollections.PMap;
import org.pcollections.PSet;

/**
 * A tenant folded from its events. Immutable; the collections that grow with traffic (open reservations,
 * recently settled ids ({@link RecentSettlements}), active runs) are persistent collections, so applying
 * one event of a batch of a thousand costs a logarithmic update, not a copy.
 *
 * <p>{@code createdAt} is null until the tenant is created.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record TenantState(
    @JsonProperty("tenant_id") String tenantId,
    @JsonProperty("name") String name,
    @JsonProperty("created_at") Instant createdAt,
    @JsonProperty("max_active_runs") int maxActiveRuns,
    @JsonProperty("budgets") Map<BudgetPeriod, Budget> budgets,
    @JsonProperty("spend") Map<BudgetPeriod, Spend> spend,
    @JsonProperty("holds") PMap<String, Hold> holds,
    @JsonProperty("held_cost_micros") long heldCostMicros,
    @JsonProperty("held_tokens") long heldTokens,
    @JsonProperty("settled_order") RecentSettlements settled,
    @JsonProperty("keys") Map<String, ApiKey> keys,
    @JsonProperty("kill_switch") boolean killSwitch,
    @JsonProperty("kill_switch_reason") String killSwitchReason,
    @JsonProperty("alerts") List<BudgetAlerted> alerts,
    @JsonProperty("active_runs") PSet<String> activeRuns,
    @JsonProperty("limits_version") long limitsVersion) implements JsonSerializable {

  /** How many alerts the API shows: the newest. */
  static final int KEPT_ALERTS = 50;

  public record Budget(
      @JsonProperty("limit_cents") Long limitCents,
      @JsonProperty("token_limit") Long tokenLimit) {}

  /** Settled spending within one window of a period, and the alert thresholds already raised in it. */
  public record Spend(
      @JsonProperty("window") String window,
      @JsonProperty("cost_micros") long costMicros,
      @JsonProperty("tokens") long tokens,
      @JsonProperty("alerted_cost") int alertedCost,
      @JsonProperty("alerted_tokens") int alertedTokens) {

    static Spend empty(String window) {
      return new Spend(window, 0, 0, 0, 0);
    }
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Hold(
      @JsonProperty("run_id") String runId,
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("tokens") long tokens,
      @JsonProperty("cost_micros") long costMicros,
      @JsonProperty("at") Instant at) {}

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record ApiKey(
      @JsonProperty("sha256") String sha256,
      @JsonProperty("role") Role role,
      @JsonProperty("name") String name,
      @JsonProperty("created_at") Instant createdAt,
      @JsonProperty("revoked_at") Instant revokedAt) {

    @JsonIgnore
    public boolean active() {
      return revokedAt == null;
    }
  }

  public static TenantState empty(String tenantId) {
    return new TenantState(tenantId, null, null, 0, Map.of(), Map.of(), HashTreePMap.empty(), 0, 0,
        RecentSettlements.EMPTY, Map.of(), false, null, List.of(), HashTreePSet.empty(), 0);
  }

  /**
   * Jackson's way in: plain collections from a snapshot become persistent ones; the recently settled ids
   * are rebuilt from their order, which is all a snapshot stores of them.
   */
  @JsonCreator
  static TenantState fromJson(
      @JsonProperty("tenant_id") String tenantId,
      @JsonProperty("name") String name,
      @JsonProperty("created_at") Instant createdAt,
      @JsonProperty("max_active_runs") int maxActiveRuns,
      @JsonProperty("budgets") Map<BudgetPeriod, Budget> budgets,
      @JsonProperty("spend") Map<BudgetPeriod, Spend> spend,
      @JsonProperty("holds") Map<String, Hold> holds,
      @JsonProperty("held_cost_micros") long heldCostMicros,
      @JsonProperty("held_tokens") long heldTokens,
      @JsonProperty("settled_order") List<String> settledOrder,
      @JsonProperty("keys") Map<String, ApiKey> keys,
      @JsonProperty("kill_switch") boolean killSwitch,
      @JsonProperty("kill_switch_reason") String killSwitchReason,
      @JsonProperty("alerts") List<BudgetAlerted> alerts,
      @JsonProperty("active_runs") List<String> activeRuns,
      @JsonProperty("limits_version") long limitsVersion) {
    return new TenantState(tenantId, name, createdAt, maxActiveRuns, orEmpty(budgets), orEmpty(spend),
        HashTreePMap.from(orEmpty(holds)), heldCostMicros, heldTokens, RecentSettlements.of(orEmpty(settledOrder)),
        orEmpty(keys), killSwitch, killSwitchReason, orEmpty(alerts),
        HashTreePSet.from(orEmpty(activeRuns)), limitsVersion);
  }

  private static <K, V> Map<K, V> orEmpty(Map<K, V> m) {
    return m == null ? Map.of() : m;
  }

  private static <T> List<T> orEmpty(List<T> l) {
    return l == null ? List.of() : l;
  }

  /**
   * Whether no reservation of this tenant can be refused (it exists, has no budget and its kill switch is
   * off): what lets a node grant its reservations without asking, until {@code limitsVersion} moves.
   */
  @JsonIgnore
  public boolean unlimited() {
    return exists() && budgets.isEmpty() && !killSwitch;
  }

  @JsonIgnore
  public boolean exists() {
    return createdAt != null;
  }

  /** What was settled in the window of {@code period} that {@code at} falls in. */
  public Spend spendIn(BudgetPeriod period, Instant at) {
    String window = period.windowOf(at);
    Spend s = spend.get(period);
    return s != null && s.window().equals(window) ? s : Spend.empty(window);
  }

  public boolean wasSettled(String reservationId) {
    return settled.contains(reservationId);
  }

  // ---- applying ----------------------------------------------------------------------------------------

  public TenantState apply(TenantEvent event) {
    if (event instanceof Reserved e) return reserved(e);
    if (event instanceof Settled e) return settledWith(e);
    if (event instanceof SettledBatch e) {
      TenantState next = this;
      for (Settled each : e.settled()) next = next.settledWith(each);
      return next;
    }
    if (event instanceof Released e) return released(e);
    if (event instanceof BudgetAlerted e) return alerted(e);
    if (event instanceof RunAdmitted e) return withActiveRuns(activeRuns.plus(e.runId()));
    if (event instanceof RunEnded e) return withActiveRuns(activeRuns.minus(e.runId()));
    if (event instanceof TenantCreated e) {
      return new TenantState(e.tenantId(), e.name(), e.at(), e.maxActiveRuns(), budgets, spend, holds, heldCostMicros,
          heldTokens, settled, keys, killSwitch, killSwitchReason, alerts, activeRuns, limitsVersion);
    }
    if (event instanceof BudgetSet e) {
      Map<BudgetPeriod, Budget> next = new EnumMap<>(BudgetPeriod.class);
      next.putAll(budgets);
      if (e.limitCents() == null && e.tokenLimit() == null) next.remove(e.period());
      else next.put(e.period(), new Budget(e.limitCents(), e.tokenLimit()));
      return new TenantState(tenantId, name, createdAt, maxActiveRuns, Map.copyOf(next), spend, holds, heldCostMicros,
          heldTokens, settled, keys, killSwitch, killSwitchReason, alerts, activeRuns, limitsVersion + 1);
    }
    if (event instanceof MaxActiveRunsSet e) {
      return new TenantState(tenantId, name, createdAt, e.maxActiveRuns(), budgets, spend, holds, heldCostMicros,
          heldTokens, settled, keys, killSwitch, killSwitchReason, alerts, activeRuns, limitsVersion);
    }
    if (event instanceof ApiKeyIssued e) {
      return withKeys(e.keyId(), new ApiKey(e.sha256(), e.role(), e.name(), e.at(), null));
    }
    if (event instanceof ApiKeyRevoked e) {
      ApiKey k = keys.get(e.keyId());
      return k == null ? this : withKeys(e.keyId(), new ApiKey(k.sha256(), k.role(), k.name(), k.createdAt(), e.at()));
    }
    if (event instanceof KillSwitchSet e) {
      return new TenantState(tenantId, name, createdAt, maxActiveRuns, budgets, spend, holds, heldCostMicros,
          heldTokens, settled, keys, e.on(), e.on() ? e.reason() : null, alerts, activeRuns,
          limitsVersion + 1);
    }
    throw new IllegalArgumentException("unknown tenant event " + event.getClass().getName());
  }

  private TenantState reserved(Reserved e) {
    var hold = new Hold(e.runId(), e.nodeId(), e.tokens(), e.costMicros(), e.at());
    return new TenantState(tenantId, name, createdAt, maxActiveRuns, budgets, spend, holds.plus(e.reservationId(), hold),
        heldCostMicros + e.costMicros(), heldTokens + e.tokens(), settled, keys, killSwitch,
        killSwitchReason, alerts, activeRuns, limitsVersion);
  }

  private TenantState settledWith(Settled e) {
    Hold hold = holds.get(e.reservationId());
    long tokens = e.tokensIn() + e.tokensOut();
    Map<BudgetPeriod, Spend> nextSpend = new EnumMap<>(BudgetPeriod.class);
    for (BudgetPeriod p : BudgetPeriod.values()) {
      Spend s = spendIn(p, e.at());
      nextSpend.put(p, new Spend(s.window(), s.costMicros() + e.costMicros(), s.tokens() + tokens, s.alertedCost(),
          s.alertedTokens()));
    }
    return new TenantState(tenantId, name, createdAt, maxActiveRuns, budgets, Map.copyOf(nextSpend),
        holds.minus(e.reservationId()), heldCostMicros - (hold == null ? 0 : hold.costMicros()),
        heldTokens - (hold == null ? 0 : hold.tokens()), settled.plus(e.reservationId()), keys, killSwitch, killSwitchReason,
        alerts, activeRuns, limitsVersion);
  }

  private TenantState released(Released e) {
    Hold hold = holds.get(e.reservationId());
    if (hold == null) return this;
    return new TenantState(tenantId, name, createdAt, maxActiveRuns, budgets, spend, holds.minus(e.reservationId()),
        heldCostMicros - hold.costMicros(), heldTokens - hold.tokens(), settled, keys, killSwitch,
        killSwitchReason, alerts, activeRuns, limitsVersion);
  }

  private TenantState alerted(BudgetAlerted e) {
    Map<BudgetPeriod, Spend> nextSpend = new EnumMap<>(BudgetPeriod.class);
    nextSpend.putAll(spend);
    Spend s = spendIn(e.period(), e.at());
    boolean cost = "cost".equals(e.kind());
    nextSpend.put(e.period(), new Spend(s.window(), s.costMicros(), s.tokens(),
        cost ? Math.max(s.alertedCost(), e.percent()) : s.alertedCost(),
        cost ? s.alertedTokens() : Math.max(s.alertedTokens(), e.percent())));
    List<BudgetAlerted> nextAlerts = new ArrayList<>(alerts);
    nextAlerts.add(e);
    if (nextAlerts.size() > KEPT_ALERTS) nextAlerts = nextAlerts.subList(nextAlerts.size() - KEPT_ALERTS, nextAlerts.size());
    return new TenantState(tenantId, name, createdAt, maxActiveRuns, budgets, Map.copyOf(nextSpend), holds,
        heldCostMicros, heldTokens, settled, keys, killSwitch, killSwitchReason, List.copyOf(nextAlerts),
        activeRuns, limitsVersion);
  }

  private TenantState withKeys(String keyId, ApiKey key) {
    Map<String, ApiKey> next = new LinkedHashMap<>(keys);
    next.put(keyId, key);
    return new TenantState(tenantId, name, createdAt, maxActiveRuns, budgets, spend, holds, heldCostMicros, heldTokens,
        settled, Map.copyOf(next), killSwitch, killSwitchReason, alerts, activeRuns, limitsVersion);
  }

  private TenantState withActiveRuns(PSet<String> runs) {
    return new TenantState(tenantId, name, createdAt, maxActiveRuns, budgets, spend, holds, heldCostMicros, heldTokens,
        settled, keys, killSwitch, killSwitchReason, alerts, runs, limitsVersion);
  }
}
