package dev.orrery.cluster.tracing;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * {@code orrery.tracing}: where spans go (an OTLP/HTTP endpoint, unset: nowhere, and no span is made), the
 * share of traces kept, how often the batch of finished spans is sent, and how many finished spans may
 * wait for it (beyond that, new ones are dropped rather than memory grown).
 *
 * @param endpoint the collector's base URL ({@code http://host:4318}); spans go to {@code <endpoint>/v1/traces}
 */
public record TracingSettings(String endpoint, double sampleRatio, Duration exportDelay, int maxQueueSize,
    String serviceName, String serviceVersion) {

  public TracingSettings {
    if (endpoint == null) endpoint = "";
    endpoint = endpoint.strip();
    if (!endpoint.isEmpty() && !endpoint.startsWith("http://") && !endpoint.startsWith("https://")) {
      throw new IllegalArgumentException("orrery.tracing.otlp-endpoint must be an http(s) URL, was '" + endpoint + "'");
    }
    if (!(sampleRatio >= 0 && sampleRatio <= 1)) {
      throw new IllegalArgumentException("orrery.tracing.sample-ratio must be within 0..1, was " + sampleRatio);
    }
    if (maxQueueSize <= 0) throw new IllegalArgumentException("orrery.tracing.max-queue-size must be > 0, was " + maxQueueSize);
    if (exportDelay.isNegative() || exportDelay.isZero()) {
      throw new IllegalArgumentException("orrery.tracing.export-delay must be > 0, was " + exportDelay);
    }
  }

  public static TracingSettings fromConfig(Config config) {
    Config c = config.getConfig("orrery.tracing");
    return new TracingSettings(c.getString("otlp-endpoint"), c.getDouble("sample-ratio"),
        c.getDuration("export-delay"), c.getInt("max-queue-size"), c.getString("service-name"),
        config.getString("pekko.cluster.app-version"));
  }

  public boolean enabled() {
    return !endpoint.isEmpty();
  }

  /** The traces URL of the OTLP/HTTP protocol; an endpoint that already names it is taken as it is. */
  public String tracesUrl() {
    if (endpoint.endsWith("/v1/traces")) return endpoint;
    return (endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint) + "/v1/traces";
  }
}
