package dev.orrery.cluster.join;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.orrery.cluster.ClusterJoin;
import dev.orrery.cluster.OrreryNode;
import dev.orrery.cluster.db.DatabaseSettings;
import dev.orrery.cluster.testing.BuildDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the join settings turn into for Pekko, and the combination a node refuses. */
class ClusterJoinTest {
  private static Config node(Map<String, Object> settings) {
    return OrreryNode.overrides(settings).withFallback(ConfigFactory.load()).resolve();
  }

  private static Config joined(Map<String, Object> settings) {
    Config config = node(settings);
    return ClusterJoin.settings(config).withFallback(config);
  }

  @Test
  void seedNodesBecomeArteryAddressesAndTheBuildVersionIsTheAppVersion() {
    Config c = joined(Map.of("orrery.cluster.seed-nodes", "127.0.0.1:25520, 10.0.0.2:25520"));
    assertEquals(List.of("pekko://orrery@127.0.0.1:25520", "pekko://orrery@10.0.0.2:25520"),
        c.getStringList("pekko.cluster.seed-nodes"));
    assertEquals(ClusterJoin.buildVersion(), c.getString("pekko.cluster.app-version"));
    assertFalse(ClusterJoin.buildVersion().startsWith("$"), "the build filtered the version in");
    assertEquals("2.0.1", joined(Map.of("orrery.cluster.app-version", "2.0.1")).getString("pekko.cluster.app-version"));
  }

  @Test
  void configDiscoveryListsTheContactPointsAndProbesEachOfThem() {
    Config c = joined(Map.of("orrery.cluster.discovery", "config",
        "orrery.cluster.contact-points", "127.0.0.1:8558,127.0.0.1:8559"));
    assertEquals("config", c.getString("pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method"));
    List<? extends Config> endpoints = c.getConfigList("pekko.discovery.config.services.orrery.endpoints");
    assertEquals(List.of(8558, 8559), endpoints.stream().map(e -> e.getInt("port")).toList());
    assertFalse(c.getBoolean("pekko.management.cluster.bootstrap.contact-point.filter-on-fallback-port"));
    assertTrue(c.getStringList("pekko.cluster.seed-nodes").isEmpty());
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> joined(Map.of("orrery.cluster.discovery", "config")));
    assertTrue(missing.getMessage().contains("ORRERY_CONTACT_POINTS"), missing.getMessage());
  }

  @Test
  void kubernetesDiscoveryProbesThePortNamedManagement() {
    Config c = joined(Map.of("orrery.cluster.discovery", "kubernetes-api"));
    assertEquals("kubernetes-api",
        c.getString("pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method"));
    assertEquals("management", c.getString("pekko.management.cluster.bootstrap.contact-point-discovery.port-name"));
  }

  @Test
  void aNodeThatJoinsOthersRefusesAnEmbeddedDatabaseOfItsOwn() throws Exception {
    Path dir = BuildDirectory.newTempDirectory("orrery-join-test");
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> OrreryNode.start(
        new OrreryNode.Options(DatabaseSettings.embedded(dir),
            OrreryNode.overrides(Map.of("orrery.cluster.seed-nodes", "127.0.0.1:25520")))));
    assertTrue(refused.getMessage().contains("ORRERY_DB_URL"), refused.getMessage());
    assertFalse(Files.exists(dir.resolve("pg")), "no database was started");
  }
}
