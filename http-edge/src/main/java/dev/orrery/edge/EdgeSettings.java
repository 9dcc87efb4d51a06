package dev.orrery.edge;

import com.typesafe.config.Config;
import java.time.Duration;

/** Settings of the HTTP edge, read once from {@code orrery.http}. */
public record EdgeSettings(String host, int port, long maxBodyBytes, Duration askTimeout, Duration drainTimeout) {

  public EdgeSettings {
    if (host == null || host.isBlank()) throw new IllegalArgumentException("host must not be blank");
    if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be within 0..65535, was " + port);
    if (maxBodyBytes <= 0) throw new IllegalArgumentException("max-body-bytes must be > 0, was " + maxBodyBytes);
    if (askTimeout.isNegative() || askTimeout.isZero()) {
      throw new IllegalArgumentException("ask-timeout must be > 0, was " + askTimeout);
    }
  }

  public static EdgeSettings fromConfig(Config config) {
    Config c = config.getConfig("orrery.http");
    return new EdgeSettings(c.getString("host"), c.getInt("port"), c.getBytes("max-body-size"),
        config.getDuration("orrery.run.ask-timeout"), c.getDuration("drain-timeout"));
  }
}
