package dev.orrery.ledger.tenant;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Locale;

/**
 * The periods a budget can cover, in UTC. A period's window is named by its calendar key ({@code 2026-11}
 * or {@code 2026-11-23}); spending counts within the current window and starts again at zero when the
 * clock enters the next one.
 */
public enum BudgetPeriod {
  MONTHLY,
  DAILY;

  @JsonValue
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  @JsonCreator
  public static BudgetPeriod of(String name) {
    if (name != null) {
      for (BudgetPeriod p : values()) {
        if (p.wireName().equals(name.strip().toLowerCase(Locale.ROOT))) return p;
      }
    }
    throw new IllegalArgumentException("period must be monthly or daily, was '" + name + "'");
  }

  /** The window an instant falls in. */
  public String windowOf(Instant at) {
    LocalDate day = LocalDate.ofInstant(at, ZoneOffset.UTC);
    // YearMonth writes "2026-11", as String.format("%04d-%02d") did, at a fraction of its cost: this runs for
    // every period of every settlement.
    return this == DAILY ? day.toString() : YearMonth.from(day).toString();
  }

  /** When the window an instant falls in ends (the next one starts). */
  public Instant windowEnd(Instant at) {
    LocalDate day = LocalDate.ofInstant(at, ZoneOffset.UTC);
    LocalDate next = this == DAILY ? day.plusDays(1) : day.withDayOfMonth(1).plusMonths(1);
    return next.atStartOfDay(ZoneOffset.UTC).toInstant();
  }
}
