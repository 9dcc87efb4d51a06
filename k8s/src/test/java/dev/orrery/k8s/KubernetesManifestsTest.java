package dev.orrery.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.orrery.cluster.NodeEnvironment;
import dev.orrery.k8s.Invariants.Database;
import dev.orrery.k8s.Invariants.Expectations;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kustomizations of k8s/ rendered by {@code kubectl kustomize} (skipped where kubectl is not installed)
 * and held to {@link Invariants}; k8s/base is also checked as written, without kubectl.
 *
 * <p>Rendering happens in a copy of base/, overlays/ and components/, to which the test adds what an
 * operator adds: overlays/production/secrets.env (never committed), and overlays that put the
 * lease-majority component on top of dev and production.
 */
class KubernetesManifestsTest {
  private static final Path MODULE = Path.of("").toAbsolutePath();

  @TempDir static Path tree;

  @BeforeAll
  static void copyTheKustomizations() throws IOException {
    for (String dir : List.of("base", "overlays", "components")) copy(MODULE.resolve(dir), tree.resolve(dir));
    Files.writeString(tree.resolve("overlays/production/secrets.env"), String.join("\n",
        "ORRERY_DB_PASSWORD=a-test-password",
        "ORRERY_JWT_SECRET=a-test-token-key-of-more-than-32-bytes-0123456789",
        "ORRERY_ADMIN_KEY=a-test-admin-key",
        "OPENAI_API_KEY=",
        "ANTHROPIC_API_KEY=", ""));
    for (String overlay : List.of("dev", "production")) {
      Path dir = Files.createDirectories(tree.resolve("test/" + overlay + "-lease-majority"));
      Files.writeString(dir.resolve("kustomization.yaml"), String.join("\n",
          "apiVersion: kustomize.config.k8s.io/v1beta1",
          "kind: Kustomization",
          "resources:",
          "  - ../../overlays/" + overlay,
          "components:",
          "  - ../../components/lease-majority", ""));
    }
  }

  @Test
  void baseAsWrittenHoldsTheInvariants() {
    Manifests base = WrittenKustomization.read(MODULE.resolve("base"), "base (as written)");
    Invariants.check(base, new Expectations(Database.PROVIDED_BY_OVERLAY, false));
  }

  @Test
  void baseRendered() {
    Invariants.check(render("base"), new Expectations(Database.PROVIDED_BY_OVERLAY, false));
  }

  @Test
  void devRunsPostgresInTheCluster() {
    Invariants.check(render("overlays/dev"), new Expectations(Database.IN_CLUSTER, false));
  }

  @Test
  void productionUsesAnExternalPostgres() {
    Invariants.check(render("overlays/production"), new Expectations(Database.EXTERNAL, false));
  }

  @Test
  void devWithLeaseMajority() {
    Invariants.check(render("test/dev-lease-majority"), new Expectations(Database.IN_CLUSTER, true));
  }

  @Test
  void productionWithLeaseMajority() {
    Invariants.check(render("test/production-lease-majority"), new Expectations(Database.EXTERNAL, true));
  }

  @Test
  void productionRunsMoreNodesWithFixedResources() {
    Deployment base = render("base").one(Deployment.class);
    Manifests production = render("overlays/production");
    Deployment deployment = production.one(Deployment.class);
    assertTrue(deployment.getSpec().getReplicas() > base.getSpec().getReplicas(),
        production.says("more replicas than base's " + base.getSpec().getReplicas() + ": " + deployment.getSpec().getReplicas()));
    Container orrery = deployment.getSpec().getTemplate().getSpec().getContainers().get(0);
    Map<String, Quantity> requests = orrery.getResources().getRequests();
    Map<String, Quantity> limits = orrery.getResources().getLimits();
    for (String resource : List.of("cpu", "memory")) {
      assertNotNull(requests.get(resource), production.says("requests." + resource));
      assertEquals(requests.get(resource), limits.get(resource), production.says("limits." + resource + " = requests"));
    }
    assertFalse(orrery.getImage().startsWith("orrery:"), production.says("the image comes from a registry: " + orrery.getImage()));
  }

  @Test
  void productionSecretsAreWrittenByTheOperatorFromTheExample() throws IOException {
    Path production = MODULE.resolve("overlays/production");
    Map<String, String> example = WrittenKustomization.envFile(production.resolve("secrets.env.example"));
    assertEquals(new TreeSet<>(NodeEnvironment.SECRETS), new TreeSet<>(example.keySet()),
        "overlays/production/secrets.env.example must name every secret of NodeEnvironment.SECRETS");
    assertTrue(example.values().stream().allMatch(String::isEmpty), "the example holds no values");
    assertTrue(Files.readAllLines(production.resolve(".gitignore")).contains("secrets.env"),
        "overlays/production/.gitignore must keep secrets.env out of the repository");
  }

  private static Manifests render(String dir) {
    assumeTrue(Kustomize.available(), "kubectl is not on the PATH: rendering skipped");
    return Kustomize.render(tree.resolve(dir), dir);
  }

  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path p : files.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else if (!p.getFileName().toString().equals("secrets.env")) {
          Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }
}
