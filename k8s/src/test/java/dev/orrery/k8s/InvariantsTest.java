package dev.orrery.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.k8s.Invariants.Database;
import dev.orrery.k8s.Invariants.Expectations;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each rule of {@link Invariants} catches the mistake it is there for: k8s/base as written, broken in one
 * place, fails with a message naming the problem. Runs without kubectl.
 */
class InvariantsTest {
  private static final Expectations BASE = new Expectations(Database.PROVIDED_BY_OVERLAY, false);

  @ParameterizedTest(name = "{0}")
  @MethodSource("mistakes")
  void aBrokenManifestFails(Consumer<Manifests> mistake, String expectedMessage) {
    Manifests base = base();
    mistake.accept(base);
    AssertionError e = assertThrows(AssertionError.class, () -> Invariants.check(base, BASE));
    assertTrue(e.getMessage().contains(expectedMessage), "expected a message with '" + expectedMessage + "', got: "
        + e.getMessage());
  }

  @Test
  void leaseMajorityIsNotWhatBaseConfigures() {
    AssertionError e = assertThrows(AssertionError.class,
        () -> Invariants.check(base(), new Expectations(Database.PROVIDED_BY_OVERLAY, true)));
    assertTrue(e.getMessage().contains("get/create/update/list on leases.pekko.apache.org"), e.getMessage());
  }

  @Test
  void theShutdownPhasesAreReadFromTheNodesConfiguration() {
    Map<String, Duration> phases = NodeConfig.shutdownPhases(NodeConfig.defaults());
    // cluster.conf's own values, and Pekko's for the phases it leaves alone.
    assertEquals(Duration.ofSeconds(20), phases.get("before-service-unbind"));
    assertEquals(Duration.ofSeconds(12), phases.get("service-requests-done"));
    assertEquals(Duration.ofSeconds(10), phases.get("cluster-sharding-shutdown-region"));
    assertEquals(Duration.ofSeconds(5), phases.get("before-actor-system-terminate"), "30 s only with the embedded database");
    assertEquals(Duration.ofSeconds(2), NodeConfig.defaults().getDuration("orrery.shutdown.unready-grace"));
    assertEquals(Duration.ofSeconds(5), NodeConfig.resolvedWith(Map.of("ORRERY_UNREADY_GRACE", "5s"))
        .getDuration("orrery.shutdown.unready-grace"));
  }

  static Stream<Arguments> mistakes() {
    return Stream.of(
        mistake("a rollout may take a pod away first",
            m -> deployment(m).getSpec().getStrategy().getRollingUpdate().setMaxUnavailable(new IntOrString(1)),
            "maxUnavailable must be 0"),
        mistake("readiness asks the edge's /health",
            m -> container(m).getReadinessProbe().getHttpGet().setPath("/health"), "readinessProbe must GET"),
        mistake("liveness by port number",
            m -> container(m).getLivenessProbe().getHttpGet().setPort(new IntOrString(8558)), "port named management"),
        mistake("management on another port",
            m -> port(m, "management").setContainerPort(9558), "containerPort 'management'"),
        mistake("Kubernetes' default grace period",
            m -> pod(m).setTerminationGracePeriodSeconds(30L), "terminationGracePeriodSeconds (30)"),
        mistake("readiness noticed too late",
            m -> container(m).getReadinessProbe().setPeriodSeconds(10), "notices a node going unready after up to 20 s"),
        mistake("an unready grace longer than its phase",
            m -> configMap(m).getData().put("ORRERY_UNREADY_GRACE", "25s"), "must fit in the before-service-unbind phase"),
        mistake("the Role may delete pods",
            m -> m.one(Role.class).getRules().get(0).getVerbs().add("delete"), "must allow exactly get/watch/list on pods"),
        mistake("the RoleBinding binds another account",
            m -> m.one(RoleBinding.class).getSubjects().get(0).setName("default"), "exactly one RoleBinding must bind"),
        mistake("the PodDisruptionBudget selects nothing",
            m -> m.one(PodDisruptionBudget.class).getSpec().getSelector().setMatchLabels(Map.of("app", "other")),
            "must select the Deployment's pods"),
        mistake("the PodDisruptionBudget lets a majority go",
            m -> m.one(PodDisruptionBudget.class).getSpec().setMaxUnavailable(new IntOrString(2)), "must keep a majority"),
        mistake("a variable the node does not read",
            m -> container(m).getEnv().add(new EnvVar("ORRERY_HTTP_PORTS", "8080", null)), "not a variable the node reads"),
        mistake("a secret in the ConfigMap",
            m -> {
              container(m).getEnv().removeIf(e -> e.getName().equals("ORRERY_ADMIN_KEY"));
              configMap(m).getData().put("ORRERY_ADMIN_KEY", "k");
            }, "ORRERY_ADMIN_KEY is a secret: it must come from a secretKeyRef"),
        mistake("a key the Secret lacks",
            m -> m.one(Secret.class).getData().remove("ORRERY_DB_PASSWORD"), "which has only"),
        mistake("a variable set twice",
            m -> configMap(m).getData().put("ORRERY_CLUSTER_HOST", "10.0.0.1"), "set it in one place"),
        mistake("discovery looks for another label",
            m -> configMap(m).getData().put("ORRERY_SERVICE_NAME", "orrery-nodes"), "must be the pods' label app"),
        mistake("every pod with its own embedded database",
            m -> {
              configMap(m).getData().remove("ORRERY_DB_URL");
              configMap(m).getData().remove("ORRERY_DB_USER");
              m.one(Secret.class).getData().put("ORRERY_DB_PASSWORD", "");
            }, "ORRERY_DB_URL must be set"),
        mistake("one contact point forms a cluster",
            m -> configMap(m).getData().put("ORRERY_REQUIRED_CONTACT_POINTS", "1"), "more than half of the replicas"),
        mistake("seed nodes beside discovery",
            m -> configMap(m).getData().put("ORRERY_SEED_NODES", "10.0.0.1:25520"), "ORRERY_SEED_NODES must not be set"),
        mistake("the cluster address is the loopback",
            m -> container(m).getEnv().stream().filter(e -> e.getName().equals("ORRERY_CLUSTER_HOST")).forEach(e -> {
              e.setValueFrom(null);
              e.setValue("127.0.0.1");
            }), "ORRERY_CLUSTER_HOST must be the pod IP"),
        mistake("a misspelt field",
            m -> container(m).setAdditionalProperty("readinesProbe", Map.of()), "fields Kubernetes does not know"),
        mistake("a database run by base",
            m -> m.add(new io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder().withNewMetadata()
                .withName("postgres").withNamespace("orrery").endMetadata().withNewSpec().withNewTemplate()
                .withNewMetadata().withLabels(Map.of("app", "postgres")).endMetadata().endTemplate().endSpec().build()),
            "expected no StatefulSet"));
  }

  private static Arguments mistake(String name, Consumer<Manifests> mistake, String message) {
    return Arguments.of(Named.of(name, mistake), message);
  }

  /** k8s/base as written, in a list that a mistake may add to. */
  private static Manifests base() {
    return WrittenKustomization.read(Path.of("base"), "base");
  }

  private static Deployment deployment(Manifests m) {
    return m.one(Deployment.class);
  }

  private static PodSpec pod(Manifests m) {
    return deployment(m).getSpec().getTemplate().getSpec();
  }

  private static Container container(Manifests m) {
    return pod(m).getContainers().get(0);
  }

  private static io.fabric8.kubernetes.api.model.ContainerPort port(Manifests m, String name) {
    return container(m).getPorts().stream().filter(p -> name.equals(p.getName())).findFirst().orElseThrow();
  }

  private static ConfigMap configMap(Manifests m) {
    return m.one(ConfigMap.class);
  }
}
