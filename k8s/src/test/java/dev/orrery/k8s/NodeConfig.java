package dev.orrery.k8s;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigResolveOptions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The node's configuration as {@code ConfigFactory.load()} builds it in a node (application.conf with
 * cluster.conf, persistence.conf and orrery.conf, over every module's reference.conf), but with the
 * environment given instead of this JVM's: the pod's environment, or none for the defaults. Every
 * {@code ${?ORRERY_...}} then reads what the manifests give the pod.
 */
final class NodeConfig {
  private NodeConfig() {}

  /** The defaults: no variable set. */
  static Config defaults() {
    return resolvedWith(Map.of());
  }

  /** What a node with this environment reads. */
  static Config resolvedWith(Map<String, String> environment) {
    Config env = ConfigFactory.parseMap(environment, "the pod's environment");
    Config unresolved = ConfigFactory.parseResourcesAnySyntax("application")
        .withFallback(ConfigFactory.defaultReferenceUnresolved());
    // ${?NAME} looks in the configuration first; the variables sit at its root, where nothing else is.
    return env.withFallback(unresolved)
        .resolve(ConfigResolveOptions.defaults().setUseSystemEnvironment(false));
  }

  /**
   * Every coordinated-shutdown phase with its timeout, in the order they run (each after the phases it
   * depends on). On SIGTERM the JVM's shutdown hook runs them all, from the first.
   */
  static Map<String, Duration> shutdownPhases(Config config) {
    Config phases = config.getConfig("pekko.coordinated-shutdown.phases");
    Duration fallback = config.getDuration("pekko.coordinated-shutdown.default-phase-timeout");
    Map<String, Config> remaining = new TreeMap<>();
    for (String phase : phases.root().keySet()) remaining.put(phase, phases.getConfig('"' + phase + '"'));
    Map<String, Duration> ordered = new LinkedHashMap<>();
    while (!remaining.isEmpty()) {
      String next = remaining.entrySet().stream()
          .filter(e -> !e.getValue().hasPath("depends-on")
              || ordered.keySet().containsAll(e.getValue().getStringList("depends-on")))
          .map(Map.Entry::getKey).findFirst()
          .orElseThrow(() -> new IllegalStateException("coordinated-shutdown phases depend in a cycle: " + remaining.keySet()));
      Config phase = remaining.remove(next);
      ordered.put(next, phase.hasPath("timeout") ? phase.getDuration("timeout") : fallback);
    }
    return ordered;
  }
}
