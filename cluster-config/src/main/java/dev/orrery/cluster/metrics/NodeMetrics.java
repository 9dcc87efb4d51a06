package dev.orrery.cluster.metrics;

import com.typesafe.config.Config;
import kamon.Kamon;
import kamon.prometheus.PrometheusReporter;
import scala.Option;

/**
 * Kamon with its Prometheus reporter, served by the node's own HTTP port ({@code GET /metrics}) rather than
 * the reporter's embedded server. Kamon's registry is one per JVM: the first node of a JVM starts it with
 * its configuration, later ones (tests run several) share it, and the last to stop stops it.
 */
public final class NodeMetrics {
  /** Nodes of this JVM using Kamon: the last one to stop stops it (its reporter thread keeps a JVM alive). */
  private static int users;

  private NodeMetrics() {}

  public static synchronized void start(Config config) {
    if (users++ == 0) Kamon.init(config);
  }

  public static synchronized void stop() {
    if (users > 0 && --users == 0) {
      try {
        scala.concurrent.Await.result(Kamon.stop(), scala.concurrent.duration.Duration.create(5, "s"));
      } catch (Exception e) {
        // Stopping reporters is best effort at shutdown.
      }
    }
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
