package dev.orrery.ledger.budget;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * {@code orrery.ledger}: how reservations are batched and how long they may wait, and whether the
 * settlements of a batch are persisted as one event ({@code settlement-batches}).
 */
public record LedgerSettings(int batchMax, Duration askTimeout, Duration attemptTimeout, int snapshotEvery,
    int defaultMaxActiveRuns, Duration holdTtl, Duration leaseTtl, int maxBackgroundSettlements,
    boolean settlementBatches) {
  public LedgerSettings {
    if (batchMax <= 0) throw new IllegalArgumentException("batch-max must be > 0, was " + batchMax);
    if (askTimeout.isNegative() || askTimeout.isZero()) {
      throw new IllegalArgumentException("ask-timeout must be > 0, was " + askTimeout);
    }
    if (attemptTimeout.isNegative() || attemptTimeout.isZero()) {
      throw new IllegalArgumentException("attempt-timeout must be > 0, was " + attemptTimeout);
    }
    if (snapshotEvery <= 0) throw new IllegalArgumentException("snapshot-every must be > 0, was " + snapshotEvery);
    if (defaultMaxActiveRuns <= 0) {
      throw new IllegalArgumentException("default-max-active-runs must be > 0, was " + defaultMaxActiveRuns);
    }
    if (holdTtl.isNegative() || holdTtl.isZero()) throw new IllegalArgumentException("hold-ttl must be > 0, was " + holdTtl);
    if (leaseTtl.isNegative()) throw new IllegalArgumentException("lease-ttl must be >= 0, was " + leaseTtl);
    if (maxBackgroundSettlements < 0) {
      throw new IllegalArgumentException("max-background-settlements must be >= 0, was " + maxBackgroundSettlements);
    }
  }

  public static LedgerSettings fromConfig(Config config) {
    Config c = config.getConfig("orrery.ledger");
    return new LedgerSettings(c.getInt("batch-max"), c.getDuration("ask-timeout"), c.getDuration("attempt-timeout"),
        c.getInt("snapshot-every"), c.getInt("default-max-active-runs"), c.getDuration("hold-ttl"),
        c.getDuration("lease-ttl"), c.getInt("max-background-settlements"), c.getBoolean("settlement-batches"));
  }
}
