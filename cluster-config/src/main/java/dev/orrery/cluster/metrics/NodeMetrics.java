package dev.orrery.cluster.metrics;

import com.typesafe.config.Config;
import java.util.concurrent.atomic.AtomicBoolean;
import kamon.Kamon;
import kamon.prometheus.PrometheusReporter;
import scala.Option;

/**
 * Kamon with its Prometheus reporter, served by the node's own HTTP port ({@code GET /metrics}) rather than
 * the reporter's embedded server. Kamon's registry is one per JVM: the first node of a JVM starts it with
 * its configuration, later ones (tests run several) share it.
 */
public final class NodeMetrics {
  private static final AtomicBoolean STARTED = new AtomicBoolean();

  private NodeMetrics() {}

  public static void start(Config config) {
    if (STARTED.compareAndSet(false, true)) Kamon.init(config);
  }

  /**
   * The Prometheus text exposition of every metric, as of the reporter's last tick
   * ({@code kamon.metric.tick-interval}); empty before the first.
   */
  public static String scrape() {
    Option<String> data = PrometheusReporter.latestScrapeData();
    return data.isDefined() ? data.get() : "";
  }
}
