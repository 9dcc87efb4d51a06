package dev.orrery.ledger.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.orrery.ledger.tenant.BudgetGauges.Reading;
import dev.orrery.ledger.tenant.TenantState.Budget;
import dev.orrery.ledger.tenant.TenantState.Spend;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** The values of the budget gauges, from a tenant's budgets and what it settled. */
class BudgetGaugesTest {
  private static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");

  @Test
  void remainingIsTheLimitLessWhatWasSettledInTheCurrentWindow() {
    var budgets = Map.of(BudgetPeriod.MONTHLY, new Budget(1_000L, 1_000L));
    var spend = Map.of(BudgetPeriod.MONTHLY, new Spend("2026-11", 2_500_000, 400, 0, 0)); // 250 cents
    assertEquals(Map.of("budget.remaining.cents/monthly/null", 750.0, "budget.remaining.tokens/monthly/null", 600.0,
        "budget.utilization.ratio/monthly/cost", 0.25, "budget.utilization.ratio/monthly/tokens", 0.4),
        values(BudgetGauges.readings(budgets, spend, NOW)));
  }

  @Test
  void aNewWindowShowsTheWholeBudget() {
    var budgets = Map.of(BudgetPeriod.DAILY, new Budget(500L, null));
    var spend = Map.of(BudgetPeriod.DAILY, new Spend("2026-11-22", 5_000_000, 900, 100, 0)); // yesterday: all spent
    assertEquals(Map.of("budget.remaining.cents/daily/null", 500.0, "budget.utilization.ratio/daily/cost", 0.0),
        values(BudgetGauges.readings(budgets, spend, NOW)));
  }

  @Test
  void overspendingGoesBelowZeroAndPastOne() {
    var budgets = Map.of(BudgetPeriod.DAILY, new Budget(null, 100L));
    var spend = Map.of(BudgetPeriod.DAILY, new Spend("2026-11-23", 0, 150, 0, 100));
    assertEquals(Map.of("budget.remaining.tokens/daily/null", -50.0, "budget.utilization.ratio/daily/tokens", 1.5),
        values(BudgetGauges.readings(budgets, spend, NOW)));
  }

  @Test
  void aZeroLimitHasNoRatioAndNoBudgetHasNoSeries() {
    assertEquals(Map.of("budget.remaining.cents/monthly/null", 0.0),
        values(BudgetGauges.readings(Map.of(BudgetPeriod.MONTHLY, new Budget(0L, null)), Map.of(), NOW)));
    assertEquals(Map.of(), values(BudgetGauges.readings(Map.of(), Map.of(), NOW)));
  }

  private static Map<String, Double> values(List<Reading> readings) {
    Map<String, Double> values = new TreeMap<>();
    for (Reading r : readings) {
      values.put(r.series().metric() + "/" + r.series().period().wireName() + "/" + r.series().kind(), r.value());
    }
    return values;
  }
}
