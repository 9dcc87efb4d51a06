package dev.orrery.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;

/**
 * How a node finds its cluster, first match wins: seed nodes ({@code orrery.cluster.seed-nodes}), Cluster
 * Bootstrap over a discovery method ({@code orrery.cluster.discovery}: {@code config} locally,
 * {@code kubernetes-api} in a pod), or, with neither, a cluster of one that joins itself. It also gives the
 * node its app-version, so that shard allocation prefers the newest members during a rolling upgrade.
 */
public final class ClusterJoin {
  private ClusterJoin() {}

  /** The version this build was made as ({@code project.version}). */
  public static String buildVersion() {
    try (InputStream in = ClusterJoin.class.getResourceAsStream("/orrery-build.properties")) {
      if (in == null) return "0.0.0";
      Properties p = new Properties();
      p.load(in);
      String v = p.getProperty("version", "0.0.0");
      // An unfiltered copy (an IDE that skips Maven's resource filtering) still gives a valid version.
      return v.startsWith("${") ? "0.0.0" : v;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What the resolved configuration implies for Pekko's own keys; wins over that configuration. */
  public static Config settings(Config config) {
    String system = "orrery";
    List<String> seeds = list(config.getString("orrery.cluster.seed-nodes"));
    String appVersion = config.getString("orrery.cluster.app-version");
    Config c = ConfigFactory.empty()
        .withValue("pekko.cluster.app-version",
            ConfigValueFactory.fromAnyRef(appVersion.isBlank() ? buildVersion() : appVersion));
    if (!seeds.isEmpty()) {
      List<String> addresses = seeds.stream()
          .map(s -> s.startsWith("pekko://") ? s : "pekko://" + system + "@" + s).toList();
      c = c.withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(addresses));
    }
    String discovery = config.getString("orrery.cluster.discovery");
    if (!discovery.isBlank()) {
      c = c.withValue("pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method",
          ConfigValueFactory.fromAnyRef(discovery));
      String service = config.getString("pekko.management.cluster.bootstrap.contact-point-discovery.service-name");
      List<Map<String, Object>> endpoints = new ArrayList<>();
      for (String point : list(config.getString("orrery.cluster.contact-points"))) {
        int colon = point.lastIndexOf(':');
        if (colon < 0) throw new IllegalArgumentException("contact point '" + point + "' is not host:port");
        endpoints.add(Map.of("host", point.substring(0, colon), "port", Integer.parseInt(point.substring(colon + 1))));
      }
      if (discovery.equals("config") && endpoints.isEmpty()) {
        throw new IllegalArgumentException("discovery 'config' needs ORRERY_CONTACT_POINTS (host:management-port,...)");
      }
      if (!endpoints.isEmpty()) {
        c = c.withValue("pekko.discovery.config.services." + service + ".endpoints",
            ConfigValueFactory.fromIterable(endpoints));
        // Nodes on one machine have a management port each: probe every listed one, not only those on
        // this node's own port (Bootstrap's default filter).
        c = c.withValue("pekko.management.cluster.bootstrap.contact-point.filter-on-fallback-port",
            ConfigValueFactory.fromAnyRef(false));
      }
      if (discovery.equals("kubernetes-api")) {
        // A pod lists several ports; Bootstrap probes the one named like the Deployment's management port.
        c = c.withValue("pekko.management.cluster.bootstrap.contact-point-discovery.port-name",
            ConfigValueFactory.fromAnyRef("management"));
      }
    }
    return c;
  }

  /**
   * Starts management (health checks) and joins, as the configuration says.
   *
   * @return management's base URL, or empty when it is off
   */
  static Optional<String> start(ActorSystem<?> system) {
    Config config = system.settings().config();
    Optional<String> management = Optional.empty();
    if (config.getBoolean("orrery.management.enabled")) {
      management = Optional.of(PekkoManagement.get(system.classicSystem()).start().toCompletableFuture().join()
          .toString());
    }
    Cluster cluster = Cluster.get(system);
    if (!config.getString("orrery.cluster.discovery").isBlank()) {
      ClusterBootstrap.get(system.classicSystem()).start();
    } else if (config.getStringList("pekko.cluster.seed-nodes").isEmpty()) {
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
    }
    // Otherwise the cluster extension joins the seed nodes by itself.
    return management;
  }

  private static List<String> list(String commaSeparated) {
    return Arrays.stream(commaSeparated.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
  }
}
