package dev.orrery.core.stream;

import com.typesafe.config.Config;
import java.time.Duration;

/** Settings of live run streams, read once from {@code orrery.stream}. */
public record StreamSettings(int bufferSize, Duration heartbeatInterval, Duration renewInterval,
    Duration closeDelay) {
  public StreamSettings {
    if (bufferSize <= 0) throw new IllegalArgumentException("buffer-size must be > 0, was " + bufferSize);
    if (heartbeatInterval.isNegative() || heartbeatInterval.isZero()) {
      throw new IllegalArgumentException("heartbeat-interval must be > 0, was " + heartbeatInterval);
    }
    if (renewInterval.isNegative() || renewInterval.isZero()) {
      throw new IllegalArgumentException("renew-interval must be > 0, was " + renewInterval);
    }
    if (closeDelay.isNegative()) throw new IllegalArgumentException("close-delay must be >= 0, was " + closeDelay);
  }

  public static StreamSettings fromConfig(Config config) {
    Config c = config.getConfig("orrery.stream");
    return new StreamSettings(c.getInt("buffer-size"), c.getDuration("heartbeat-interval"),
        c.getDuration("renew-interval"), c.getDuration("close-delay"));
  }
}
