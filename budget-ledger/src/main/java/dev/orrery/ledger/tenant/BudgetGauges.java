package dev.orrery.ledger.tenant;

import dev.orrery.core.Instrumentation;
import dev.orrery.ledger.tenant.TenantState.Budget;
import dev.orrery.ledger.tenant.TenantState.Spend;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import kamon.Kamon;
import kamon.metric.Gauge;
import kamon.tag.TagSet;

/**
 * What is left of each tenant's budgets, as gauges by tenant and period ({@code monthly}, {@code daily}):
 * {@code budget_remaining_cents} and {@code budget_remaining_tokens} (the limit less what was settled in the
 * period's current window; below 0 when calls settled past it), and {@code budget_utilization_ratio{tenant,
 * period,kind}} (settled / limit, {@code kind} cost or tokens; none for a limit of 0). A period without a
 * limit of a kind has no series of it; a tenant without budgets has none at all.
 *
 * <p>The Tenant entity records them on the node that hosts it, after every write that can change them and
 * when it recovers, and removes them when it stops (it moved to another node, which records them there).
 * {@link #refresh} re-reads the windows, so a period's next window shows its whole budget without waiting
 * for the tenant's next call.
 */
public final class BudgetGauges {
  private static final double MICROS_PER_CENT = 10_000;

  /** One series of a tenant: its metric, period and (for the ratio) kind. */
  record Series(String metric, BudgetPeriod period, String kind) {}

  /** A tenant's budgets and spending as last recorded (immutable maps of its state), and its series. */
  private record Recorded(Map<BudgetPeriod, Budget> budgets, Map<BudgetPeriod, Spend> spend, Set<Series> series) {}

  private static final ConcurrentHashMap<String, Recorded> TENANTS = new ConcurrentHashMap<>();
  /** Gauges resolved once per tenant and series: a tenant with a budget records after every ledger write. */
  private static final ConcurrentHashMap<String, Gauge> GAUGES = new ConcurrentHashMap<>();

  private BudgetGauges() {}

  /** After a write of the tenant (or its recovery): its gauges as its state says now. */
  static void record(TenantState s, Instant now) {
    if (!Instrumentation.enabled() || (s.budgets().isEmpty() && !TENANTS.containsKey(s.tenantId()))) return;
    // compute serialises this with refresh for the tenant: an older view cannot overwrite a newer one.
    TENANTS.compute(s.tenantId(), (tenant, old) ->
        apply(tenant, old == null ? Set.of() : old.series(), s.budgets(), s.spend(), now));
  }

  /** The tenant stopped on this node: its series go with it. */
  static void stopped(String tenantId) {
    TENANTS.computeIfPresent(tenantId, (tenant, old) -> apply(tenant, old.series(), Map.of(), Map.of(), Instant.EPOCH));
  }

  /** Every tenant's gauges again, as of {@code now}: spending starts again at zero in a period's next window. */
  public static void refresh(Instant now) {
    if (!Instrumentation.enabled()) return;
    for (String tenantId : TENANTS.keySet()) {
      TENANTS.computeIfPresent(tenantId, (tenant, old) -> apply(tenant, old.series(), old.budgets(), old.spend(), now));
    }
  }

  private static Recorded apply(String tenant, Set<Series> before, Map<BudgetPeriod, Budget> budgets,
      Map<BudgetPeriod, Spend> spend, Instant now) {
    Set<Series> series = new HashSet<>();
    for (Reading r : readings(budgets, spend, now)) {
      series.add(r.series());
      gauge(tenant, r.series()).update(r.value());
    }
    for (Series gone : before) {
      if (series.contains(gone)) continue;
      GAUGES.remove(key(tenant, gone));
      Kamon.gauge(gone.metric()).remove(tags(tenant, gone));
    }
    return series.isEmpty() ? null : new Recorded(budgets, spend, Set.copyOf(series));
  }

  /** One gauge's value. */
  record Reading(Series series, double value) {}

  /** What a tenant's budgets and spending say at {@code now}: the values of its series. */
  static List<Reading> readings(Map<BudgetPeriod, Budget> budgets, Map<BudgetPeriod, Spend> spend, Instant now) {
    List<Reading> readings = new ArrayList<>();
    for (Map.Entry<BudgetPeriod, Budget> e : budgets.entrySet()) {
      BudgetPeriod period = e.getKey();
      Budget b = e.getValue();
      Spend s = spend.get(period);
      boolean current = s != null && s.window().equals(period.windowOf(now));
      long micros = current ? s.costMicros() : 0;
      long tokens = current ? s.tokens() : 0;
      if (b.limitCents() != null) {
        readings.add(new Reading(new Series("budget.remaining.cents", period, null),
            b.limitCents() - micros / MICROS_PER_CENT));
        if (b.limitCents() > 0) {
          readings.add(new Reading(new Series("budget.utilization.ratio", period, "cost"),
              micros / (b.limitCents() * MICROS_PER_CENT)));
        }
      }
      if (b.tokenLimit() != null) {
        readings.add(new Reading(new Series("budget.remaining.tokens", period, null), b.tokenLimit() - tokens));
        if (b.tokenLimit() > 0) {
          readings.add(new Reading(new Series("budget.utilization.ratio", period, "tokens"),
              (double) tokens / b.tokenLimit()));
        }
      }
    }
    return readings;
  }

  private static Gauge gauge(String tenant, Series s) {
    return GAUGES.computeIfAbsent(key(tenant, s), k -> Kamon.gauge(s.metric()).withTags(tags(tenant, s)));
  }

  private static String key(String tenant, Series s) {
    return tenant + "/" + s.metric() + "/" + s.period() + "/" + s.kind();
  }

  private static TagSet tags(String tenant, Series s) {
    TagSet tags = TagSet.of("tenant", tenant).withTag("period", s.period().wireName());
    return s.kind() == null ? tags : tags.withTag("kind", s.kind());
  }
}
