package dev.orrery.core.run;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Settings of the Run entity, read once from {@code orrery.run}.
 *
 * @param budgetRetryInterval how often a step waiting for budget tries again
 */
public record RunSettings(int snapshotEvery, Duration idleTimeout, Duration askTimeout, Duration budgetRetryInterval) {
  public RunSettings {
    if (snapshotEvery <= 0) throw new IllegalArgumentException("snapshot-every must be > 0, was " + snapshotEvery);
    if (idleTimeout.isNegative() || idleTimeout.isZero()) {
      throw new IllegalArgumentException("idle-timeout must be > 0, was " + idleTimeout);
    }
    if (askTimeout.isNegative() || askTimeout.isZero()) {
      throw new IllegalArgumentException("ask-timeout must be > 0, was " + askTimeout);
    }
    if (budgetRetryInterval.isNegative() || budgetRetryInterval.isZero()) {
      throw new IllegalArgumentException("budget-retry-interval must be > 0, was " + budgetRetryInterval);
    }
  }

  public static RunSettings fromConfig(Config config) {
    Config c = config.getConfig("orrery.run");
    return new RunSettings(c.getInt("snapshot-every"), c.getDuration("idle-timeout"), c.getDuration("ask-timeout"),
        c.getDuration("budget-retry-interval"));
  }
}
