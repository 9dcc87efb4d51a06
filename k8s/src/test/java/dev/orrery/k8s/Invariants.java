package dev.orrery.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.typesafe.config.Config;
import dev.orrery.cluster.NodeEnvironment;
import dev.orrery.cluster.db.DatabaseSettings;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * What every rendering of k8s/ must hold, checked against the node's real configuration and
 * {@link NodeEnvironment}. Each rule fails with a message that names the rendering, the object and
 * the numbers involved.
 */
final class Invariants {
  /** Where the journal's PostgreSQL is. */
  enum Database {
    /** Not in this rendering and not checked further (k8s/base: an overlay provides it). */
    PROVIDED_BY_OVERLAY,
    /** A StatefulSet in the rendering, reached through a Service of the URL's host name. */
    IN_CLUSTER,
    /** Outside the cluster: no StatefulSet, and the URL's host is no Service of the rendering. */
    EXTERNAL
  }

  /** What a rendering is expected to contain beyond the common rules. */
  record Expectations(Database database, boolean leaseMajority) {}

  /** The coordinated-shutdown phases SIGTERM must get time for, named so a renamed phase is noticed. */
  static final List<String> SHUTDOWN_PHASES = List.of("before-service-unbind", "service-requests-done",
      "cluster-sharding-shutdown-region", "cluster-exiting", "before-actor-system-terminate");

  static final String CONTAINER = "orrery";

  private static final Set<String> DISCOVERY_RULES = Set.of("/pods:get", "/pods:watch", "/pods:list");
  private static final Set<String> LEASE_RULES = Set.of("pekko.apache.org/leases:get",
      "pekko.apache.org/leases:create", "pekko.apache.org/leases:update", "pekko.apache.org/leases:list");
  private static final String LEASE_CRD = "leases.pekko.apache.org";

  private final Manifests m;
  private final Expectations expect;
  private final Deployment deployment;
  private final PodSpec pod;
  private final Map<String, String> podLabels;
  private final Container container;
  private final PodEnvironment env;
  private final Config node;

  private Invariants(Manifests m, Expectations expect) {
    this.m = m;
    this.expect = expect;
    this.deployment = m.one(Deployment.class);
    PodTemplateSpec template = deployment.getSpec().getTemplate();
    this.pod = template.getSpec();
    this.podLabels = template.getMetadata().getLabels() == null ? Map.of() : template.getMetadata().getLabels();
    List<Container> named = pod.getContainers().stream().filter(c -> CONTAINER.equals(c.getName())).toList();
    assertEquals(1, named.size(), m.says("Deployment " + deployment.getMetadata().getName()
        + " must have one container named " + CONTAINER + ", has " + pod.getContainers().stream().map(Container::getName).toList()));
    this.container = named.get(0);
    this.env = PodEnvironment.of(container, deployment.getMetadata().getNamespace(), m);
    this.node = NodeConfig.resolvedWith(env.values());
  }

  /** Every rule, in order; the first broken one fails. */
  static void check(Manifests m, Expectations expect) {
    knownFields(m);
    Invariants i = new Invariants(m, expect);
    i.oneNamespace();
    i.command();
    i.rollingUpdate();
    i.ports();
    i.probes();
    i.shutdown();
    i.rbac();
    i.selectors();
    i.environment();
    i.discovery();
    i.splitBrainResolver();
    i.database();
  }

  /** Every field is one the Kubernetes model knows: a misspelt one would be dropped or refused. */
  static void knownFields(Manifests m) {
    for (HasMetadata object : m.all()) {
      List<String> unknown = UnknownFields.in(object);
      assertTrue(unknown.isEmpty(), m.says(object.getKind() + " " + object.getMetadata().getName()
          + " has fields Kubernetes does not know: " + unknown));
    }
  }

  private void oneNamespace() {
    String ns = deployment.getMetadata().getNamespace();
    for (HasMetadata o : m.all()) {
      if (o instanceof Namespace || o instanceof CustomResourceDefinition
          || o instanceof ClusterRole || o instanceof ClusterRoleBinding) {
        continue;
      }
      assertTrue(PodEnvironment.sameNamespace(ns, o.getMetadata().getNamespace()), m.says(o.getKind() + " "
          + o.getMetadata().getName() + " is in namespace " + o.getMetadata().getNamespace()
          + ", the Deployment in " + ns));
    }
    m.all(Namespace.class).forEach(n -> assertEquals(ns, n.getMetadata().getName(),
        m.says("the rendering creates namespace " + n.getMetadata().getName() + " but deploys into " + ns)));
  }

  /** The pods run {@code java ... -jar orrery.jar serve}. */
  private void command() {
    List<String> line = new ArrayList<>();
    if (container.getCommand() != null) line.addAll(container.getCommand());
    if (container.getArgs() != null) line.addAll(container.getArgs());
    assertFalse(line.isEmpty(), m.says("the container must say what it runs (java -jar orrery.jar serve)"));
    assertEquals("java", line.get(0), m.says("the container runs " + line));
    int jar = line.indexOf("-jar");
    assertTrue(jar > 0 && jar + 2 < line.size() && line.get(jar + 1).endsWith("orrery.jar")
        && line.get(jar + 2).equals("serve"), m.says("the container must run java -jar orrery.jar serve, runs " + line));
    assertNotNull(container.getImage(), m.says("the container has no image"));
  }

  /** A rollout adds a pod before it removes one. */
  private void rollingUpdate() {
    var strategy = deployment.getSpec().getStrategy();
    assertNotNull(strategy, m.says("the Deployment must say its strategy (RollingUpdate, maxUnavailable 0)"));
    assertEquals("RollingUpdate", strategy.getType(), m.says("the Deployment's strategy"));
    assertNotNull(strategy.getRollingUpdate(), m.says("RollingUpdate needs maxUnavailable 0 (the default is 25%)"));
    IntOrString unavailable = strategy.getRollingUpdate().getMaxUnavailable();
    assertTrue(unavailable != null && amount(unavailable) == 0,
        m.says("rollingUpdate.maxUnavailable must be 0 (a rollout never takes a member away before its "
            + "replacement is ready), is " + show(unavailable)));
    IntOrString surge = strategy.getRollingUpdate().getMaxSurge();
    assertTrue(surge == null || amount(surge) > 0,
        m.says("rollingUpdate.maxSurge must be above 0 with maxUnavailable 0, or no rollout can start; is " + show(surge)));
  }

  /** The container's ports are the ones the node listens on. */
  private void ports() {
    ContainerPort management = port("management");
    assertEquals(node.getInt("pekko.management.http.port"), management.getContainerPort(),
        m.says("containerPort 'management' must be pekko.management.http.port as the node reads it"));
    assertEquals(NodeConfig.defaults().getInt("pekko.management.http.port"), management.getContainerPort(),
        m.says("containerPort 'management' must be management's default port"));
    assertEquals(node.getInt("orrery.http.port"), port("http").getContainerPort(),
        m.says("containerPort 'http' must be orrery.http.port as the node reads it"));
    assertEquals(node.getInt("pekko.remote.artery.canonical.port"), port("remoting").getContainerPort(),
        m.says("containerPort 'remoting' must be pekko.remote.artery.canonical.port as the node reads it"));
  }

  /** Readiness and liveness are management's checks, and readiness goes off within the unready grace. */
  private void probes() {
    String ready = "/" + node.getString("pekko.management.health-checks.readiness-path");
    String alive = "/" + node.getString("pekko.management.health-checks.liveness-path");
    Probe readiness = container.getReadinessProbe();
    Probe liveness = container.getLivenessProbe();
    assertNotNull(readiness, m.says("the container needs a readiness probe (" + ready + " on management)"));
    assertNotNull(liveness, m.says("the container needs a liveness probe (" + alive + " on management)"));
    managementGet("readinessProbe", readiness, Set.of(ready));
    managementGet("livenessProbe", liveness, Set.of(alive));
    if (container.getStartupProbe() != null) {
      managementGet("startupProbe", container.getStartupProbe(),
          Set.of(alive, "/" + node.getString("pekko.management.health-checks.startup-path")));
    }
    Duration grace = node.getDuration("orrery.shutdown.unready-grace");
    long noticed = (long) or(readiness.getPeriodSeconds(), 10) * or(readiness.getFailureThreshold(), 3);
    assertTrue(noticed < grace.toSeconds(), m.says("the readiness probe notices a node going unready after up to "
        + noticed + " s (periodSeconds x failureThreshold), which must be less than orrery.shutdown.unready-grace ("
        + grace + "), or the Service still sends requests when the port closes"));
    long checkTimeout = ceilSeconds(node.getDuration("pekko.management.health-checks.check-timeout"));
    assertTrue(or(readiness.getTimeoutSeconds(), 1) >= checkTimeout, m.says("readinessProbe.timeoutSeconds ("
        + or(readiness.getTimeoutSeconds(), 1) + ") must let management's check-timeout (" + checkTimeout
        + " s) run out and answer"));
  }

  /** Kubernetes waits for every coordinated-shutdown phase before it kills the JVM. */
  private void shutdown() {
    assertTrue(node.getBoolean("pekko.coordinated-shutdown.run-by-jvm-shutdown-hook"),
        m.says("SIGTERM runs coordinated shutdown only with pekko.coordinated-shutdown.run-by-jvm-shutdown-hook on"));
    Map<String, Duration> phases = NodeConfig.shutdownPhases(node);
    for (String phase : SHUTDOWN_PHASES) {
      assertTrue(phases.containsKey(phase), m.says("the node's configuration has no coordinated-shutdown phase "
          + phase + "; it has " + phases.keySet()));
    }
    Duration total = phases.values().stream().reduce(Duration.ZERO, Duration::plus);
    long grace = or(pod.getTerminationGracePeriodSeconds(), 30);
    assertTrue(Duration.ofSeconds(grace).compareTo(total) > 0, m.says("terminationGracePeriodSeconds (" + grace
        + ") must be longer than the coordinated-shutdown phases' timeouts added up (" + total.toSeconds() + " s: "
        + phases + "), or a node is killed while it hands off its shards"));
    Duration unready = node.getDuration("orrery.shutdown.unready-grace");
    Duration firstPhase = phases.get("before-service-unbind");
    assertTrue(unready.compareTo(firstPhase) < 0, m.says("orrery.shutdown.unready-grace (" + unready
        + ") must fit in the before-service-unbind phase (" + firstPhase + ") it runs in"));
  }

  /** Discovery may read pods, the lease (with lease-majority) its lease, and nothing else. */
  private void rbac() {
    assertTrue(m.all(ClusterRole.class).isEmpty() && m.all(ClusterRoleBinding.class).isEmpty(),
        m.says("the nodes need no cluster-wide rights; found ClusterRoles/ClusterRoleBindings"));
    String ns = deployment.getMetadata().getNamespace();
    String account = pod.getServiceAccountName();
    assertNotNull(account, m.says("the pods must run as their own ServiceAccount (serviceAccountName)"));
    m.require(ServiceAccount.class, account, "the Deployment's serviceAccountName");
    List<RoleBinding> bindings = m.all(RoleBinding.class).stream()
        .filter(b -> b.getSubjects().stream().anyMatch(s -> isAccount(s, account, ns))).toList();
    assertEquals(1, bindings.size(), m.says("exactly one RoleBinding must bind ServiceAccount " + account
        + " in namespace " + ns + "; found " + bindings.stream().map(b -> b.getMetadata().getName()
        + " subjects " + b.getSubjects()).toList() + " among " + m.all(RoleBinding.class).size() + " RoleBindings"));
    RoleBinding binding = bindings.get(0);
    assertEquals("Role", binding.getRoleRef().getKind(), m.says("RoleBinding " + binding.getMetadata().getName()
        + " must refer to a Role (rights in this namespace only)"));
    Role role = m.require(Role.class, binding.getRoleRef().getName(), "RoleBinding " + binding.getMetadata().getName());
    assertEquals(1, m.all(Role.class).size(), m.says("one Role, the nodes'; found "
        + m.all(Role.class).stream().map(r -> r.getMetadata().getName()).toList()));
    Set<String> granted = new TreeSet<>();
    for (PolicyRule rule : role.getRules()) {
      assertTrue(rule.getResourceNames().isEmpty() && rule.getNonResourceURLs().isEmpty(),
          m.says("Role " + role.getMetadata().getName() + " has a rule with resourceNames or nonResourceURLs: " + rule));
      for (String group : rule.getApiGroups()) {
        for (String resource : rule.getResources()) {
          for (String verb : rule.getVerbs()) granted.add(group + "/" + resource + ":" + verb);
        }
      }
    }
    Set<String> expected = new TreeSet<>(DISCOVERY_RULES);
    if (expect.leaseMajority()) expected.addAll(LEASE_RULES);
    assertEquals(expected, granted, m.says("Role " + role.getMetadata().getName() + " must allow exactly get/watch/list on "
        + "pods" + (expect.leaseMajority() ? " and get/create/update/list on leases.pekko.apache.org" : "")
        + " (as group/resource:verb)"));
  }

  private static boolean isAccount(Subject s, String account, String ns) {
    return "ServiceAccount".equals(s.getKind()) && account.equals(s.getName())
        && PodEnvironment.sameNamespace(ns, s.getNamespace());
  }

  /** The Service and the PodDisruptionBudget select the Orrery pods and only those. */
  private void selectors() {
    Map<String, String> selector = deployment.getSpec().getSelector().getMatchLabels();
    assertTrue(matches(deployment.getSpec().getSelector(), podLabels),
        m.says("the Deployment's selector " + selector + " does not select its own pods " + podLabels));
    List<PodTemplateSpec> others = new ArrayList<>();
    m.all(StatefulSet.class).forEach(s -> others.add(s.getSpec().getTemplate()));
    m.all(Deployment.class).stream().filter(d -> d != deployment).forEach(d -> others.add(d.getSpec().getTemplate()));

    PodDisruptionBudget pdb = m.one(PodDisruptionBudget.class);
    String pdbName = "PodDisruptionBudget " + pdb.getMetadata().getName();
    assertTrue(matches(pdb.getSpec().getSelector(), podLabels), m.says(pdbName + " selector "
        + pdb.getSpec().getSelector().getMatchLabels() + " must select the Deployment's pods " + podLabels));
    for (PodTemplateSpec other : others) {
      assertFalse(matches(pdb.getSpec().getSelector(), other.getMetadata().getLabels()),
          m.says(pdbName + " also selects pods labelled " + other.getMetadata().getLabels()));
    }
    int replicas = or(deployment.getSpec().getReplicas(), 1);
    IntOrString max = pdb.getSpec().getMaxUnavailable();
    IntOrString min = pdb.getSpec().getMinAvailable();
    assertTrue((max == null) != (min == null), m.says(pdbName + " must set one of maxUnavailable, minAvailable"));
    int keptUp = max != null ? replicas - count(max, pdbName) : count(min, pdbName);
    assertTrue(keptUp > replicas / 2 && keptUp < replicas, m.says(pdbName + " keeps " + keptUp + " of " + replicas
        + " pods up during voluntary disruptions: it must keep a majority and still let one go"));

    List<Service> serving = m.all(Service.class).stream()
        .filter(s -> s.getSpec().getSelector() != null && labelsMatch(s.getSpec().getSelector(), podLabels)).toList();
    assertEquals(1, serving.size(), m.says("one Service must select the Orrery pods " + podLabels + ", found "
        + serving.stream().map(s -> s.getMetadata().getName()).toList()));
    Service service = serving.get(0);
    for (PodTemplateSpec other : others) {
      assertFalse(labelsMatch(service.getSpec().getSelector(), other.getMetadata().getLabels()),
          m.says("Service " + service.getMetadata().getName() + " also selects pods labelled " + other.getMetadata().getLabels()));
    }
    int http = port("http").getContainerPort();
    ServicePort sp = service.getSpec().getPorts().stream()
        .filter(p -> "http".equals(p.getTargetPort().getStrVal()) || Objects.equals(http, p.getTargetPort().getIntVal()))
        .findFirst().orElseGet(() -> fail(m.says("Service " + service.getMetadata().getName()
            + " must send to the container port 'http'; its ports are " + service.getSpec().getPorts())));
    assertEquals(http, sp.getPort(), m.says("Service " + service.getMetadata().getName() + " serves HTTP on " + sp.getPort()
        + ", the node on " + http));
  }

  /** The container is configured by NodeEnvironment's variables only, secrets from Secrets only. */
  private void environment() {
    for (var e : env.variables().entrySet()) {
      assertTrue(NodeEnvironment.VARIABLES.containsKey(e.getKey()), m.says("the container gets " + e.getKey()
          + " (" + e.getValue().from() + "), which is not a variable the node reads (dev.orrery.cluster.NodeEnvironment)"));
    }
    for (String secret : new TreeSet<>(NodeEnvironment.SECRETS)) {
      PodEnvironment.Variable v = env.variables().get(secret);
      assertNotNull(v, m.says("the container must get " + secret + " from the Secret (it may be empty there)"));
      assertEquals(PodEnvironment.Source.SECRET_KEY, v.source(), m.says(secret + " is a secret: it must come from a "
          + "secretKeyRef, comes from " + v.from()));
    }
    m.all(ConfigMap.class).forEach(cm -> {
      Set<String> leaked = new TreeSet<>(cm.getData() == null ? Set.of() : cm.getData().keySet());
      leaked.retainAll(NodeEnvironment.SECRETS);
      assertTrue(leaked.isEmpty(), m.says("ConfigMap " + cm.getMetadata().getName() + " holds secrets " + leaked
          + "; they belong in a Secret"));
    });
    Secret keys = m.require(Secret.class, secretOf("ORRERY_JWT_SECRET"), "ORRERY_JWT_SECRET's secretKeyRef");
    assertEquals(new TreeSet<>(NodeEnvironment.SECRETS), new TreeSet<>(PodEnvironment.decoded(keys).keySet()),
        m.says("Secret " + keys.getMetadata().getName() + " must hold every secret of NodeEnvironment.SECRETS, "
            + "and only those"));
    String jwt = env.value("ORRERY_JWT_SECRET");
    assertTrue(jwt.isEmpty() || jwt.getBytes(StandardCharsets.UTF_8).length >= 32,
        m.says("ORRERY_JWT_SECRET must be empty or at least 32 bytes, is " + jwt.length()));

    assertEquals(PodEnvironment.Source.POD_IP, source("ORRERY_CLUSTER_HOST"),
        m.says("ORRERY_CLUSTER_HOST must be the pod IP (fieldRef status.podIP)"));
    assertEquals(PodEnvironment.Source.POD_IP, source("ORRERY_MANAGEMENT_HOST"),
        m.says("ORRERY_MANAGEMENT_HOST must be the pod IP (fieldRef status.podIP)"));
    assertEquals("0.0.0.0", env.value("ORRERY_MANAGEMENT_BIND_HOST"),
        m.says("management must listen on every interface of the pod (ORRERY_MANAGEMENT_BIND_HOST)"));
    assertEquals("0.0.0.0", env.value("ORRERY_HTTP_HOST"),
        m.says("the HTTP edge must listen on every interface of the pod (ORRERY_HTTP_HOST)"));
    assertNotNull(env.value("ORRERY_UNREADY_GRACE"), m.says("ORRERY_UNREADY_GRACE must be set for a pod"));
    assertUnset("ORRERY_SEED_NODES", "seed nodes win over discovery (ClusterJoin)");
    assertUnset("ORRERY_CONTACT_POINTS", "contact points are for discovery config");

    int replicas = or(deployment.getSpec().getReplicas(), 1);
    String required = env.value("ORRERY_REQUIRED_CONTACT_POINTS");
    assertNotNull(required, m.says("ORRERY_REQUIRED_CONTACT_POINTS must be set with the replicas"));
    int n = Integer.parseInt(required);
    assertTrue(n > replicas / 2 && n <= replicas, m.says("ORRERY_REQUIRED_CONTACT_POINTS (" + n + ") must be more than "
        + "half of the replicas (" + replicas + "), so no two groups form clusters of their own, and at most all of them"));
    assertEquals(n, node.getInt("pekko.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr"),
        m.says("the node does not read ORRERY_REQUIRED_CONTACT_POINTS"));
    assertTrue(replicas >= 3, m.says("a cluster that survives losing a member needs 3 replicas at least, has " + replicas));

    DatabaseSettings db;
    try {
      db = DatabaseSettings.fromEnvironment(env.values(), Path.of("orrery-data"));
    } catch (IllegalArgumentException e) {
      throw new AssertionError(m.says("the node refuses its database settings: " + e.getMessage()), e);
    }
    assertFalse(db.embedded(), m.says("ORRERY_DB_URL must be set: without it every pod starts its own embedded "
        + "PostgreSQL, and each would keep a journal of its own"));
  }

  /** Cluster Bootstrap finds exactly these pods, on their management port. */
  private void discovery() {
    assertEquals("kubernetes-api", env.value("ORRERY_DISCOVERY"), m.says("ORRERY_DISCOVERY"));
    assertEquals("kubernetes-api", node.getString("orrery.cluster.discovery"), m.says("orrery.cluster.discovery"));
    String service = env.value("ORRERY_SERVICE_NAME");
    assertEquals(podLabels.get("app"), service, m.says("ORRERY_SERVICE_NAME must be the pods' label app"));
    assertEquals(service, node.getString("pekko.management.cluster.bootstrap.contact-point-discovery.service-name"),
        m.says("the node does not read ORRERY_SERVICE_NAME"));
    String selector = String.format(node.getString("pekko.discovery.kubernetes-api.pod-label-selector"), service);
    for (String term : selector.split(",")) {
      String[] kv = term.split("=", 2);
      assertTrue(kv.length == 2 && kv[1].equals(podLabels.get(kv[0].strip())), m.says("discovery looks for pods "
          + selector + ", the pods are labelled " + podLabels));
    }
    // The port bootstrap probes: the container port named by contact-point-discovery.port-name, or, with
    // none, contact-point.fallback-port (management's own port unless set).
    String bootstrap = "pekko.management.cluster.bootstrap.";
    String portName = node.getString(bootstrap + "contact-point-discovery.port-name");
    String fallback = node.getString(bootstrap + "contact-point.fallback-port");
    int probed = !portName.isBlank() ? port(portName).getContainerPort()
        : fallback.startsWith("<") ? node.getInt("pekko.management.http.port") : Integer.parseInt(fallback);
    assertEquals(port("management").getContainerPort(), probed, m.says("Cluster Bootstrap probes the pods it "
        + "discovers on port " + probed + (portName.isBlank() ? " (its fallback-port)" : " (named " + portName + ")")
        + ", where management must listen"));
    assertEquals(PodEnvironment.POD_IP, node.getString("pekko.management.http.hostname"),
        m.says("management's hostname"));
    assertEquals("0.0.0.0", node.getString("pekko.management.http.bind-hostname"), m.says("management's bind-hostname"));
    assertEquals(PodEnvironment.POD_IP, node.getString("pekko.remote.artery.canonical.hostname"),
        m.says("the cluster address"));
    assertEquals("0.0.0.0", node.getString("orrery.http.host"), m.says("the HTTP edge's interface"));
  }

  /** keep-majority, or lease-majority with the lease's CRD and rights. */
  private void splitBrainResolver() {
    String strategy = node.getString("pekko.cluster.split-brain-resolver.active-strategy");
    assertEquals(expect.leaseMajority() ? "lease-majority" : "keep-majority", strategy,
        m.says("the split-brain resolver's strategy as the node reads it"));
    assertEquals("org.apache.pekko.cluster.sbr.SplitBrainResolverProvider",
        node.getString("pekko.cluster.downing-provider-class"), m.says("the downing provider"));
    var crd = m.named(CustomResourceDefinition.class, LEASE_CRD);
    if (!expect.leaseMajority()) {
      assertTrue(crd.isEmpty(), m.says("the lease CRD without lease-majority"));
      return;
    }
    String implementation = node.getString("pekko.cluster.split-brain-resolver.lease-majority.lease-implementation");
    assertEquals("pekko.coordination.lease.kubernetes", implementation, m.says("lease-majority's lease"));
    assertEquals("org.apache.pekko.coordination.lease.kubernetes.KubernetesLease",
        node.getString(implementation + ".lease-class"), m.says("the lease class (the one of the " + LEASE_CRD + " CRD)"));
    CustomResourceDefinition definition = crd.orElseGet(() -> fail(m.says("lease-majority needs the CRD " + LEASE_CRD)));
    var spec = definition.getSpec();
    assertEquals("pekko.apache.org", spec.getGroup(), m.says(LEASE_CRD + " group"));
    assertEquals("Namespaced", spec.getScope(), m.says(LEASE_CRD + " scope"));
    assertEquals("leases", spec.getNames().getPlural(), m.says(LEASE_CRD + " plural"));
    assertEquals("Lease", spec.getNames().getKind(), m.says(LEASE_CRD + " kind"));
    CustomResourceDefinitionVersion v1 = spec.getVersions().stream().filter(v -> "v1".equals(v.getName())).findFirst()
        .orElseGet(() -> fail(m.says(LEASE_CRD + " must serve v1 (pekko.apache.org/v1 is what the lease asks for)")));
    assertTrue(v1.getServed() && v1.getStorage(), m.says(LEASE_CRD + " v1 must be served and stored"));
    var properties = v1.getSchema().getOpenAPIV3Schema().getProperties().get("spec").getProperties();
    assertEquals(Set.of("owner", "version", "time"), properties.keySet(),
        m.says(LEASE_CRD + " spec fields (what the lease writes; others would be pruned)"));
  }

  /** The nodes' PostgreSQL: in the cluster (dev) or outside it (production). */
  private void database() {
    URI url = URI.create(env.value("ORRERY_DB_URL").substring("jdbc:".length()));
    String host = url.getHost();
    int port = url.getPort() < 0 ? 5432 : url.getPort();
    List<StatefulSet> statefulSets = m.all(StatefulSet.class);
    switch (expect.database()) {
      case PROVIDED_BY_OVERLAY, EXTERNAL -> {
        assertTrue(statefulSets.isEmpty(), m.says("expected no StatefulSet (the database is not run here), found "
            + statefulSets.stream().map(s -> s.getMetadata().getName()).toList()));
        if (expect.database() == Database.EXTERNAL) {
          assertTrue(m.named(Service.class, host.split("\\.")[0]).isEmpty(),
              m.says("ORRERY_DB_URL points at " + host + ", a Service of this rendering, not an external server"));
        }
      }
      case IN_CLUSTER -> {
        StatefulSet postgres = m.one(StatefulSet.class);
        String name = "StatefulSet " + postgres.getMetadata().getName();
        Container server = postgres.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertTrue(server.getImage().startsWith("postgres:"), m.says(name + " must run PostgreSQL, runs " + server.getImage()));
        assertFalse(postgres.getSpec().getVolumeClaimTemplates().isEmpty(),
            m.says(name + " must keep its data on a PersistentVolumeClaim"));
        Service service = m.require(Service.class, host.split("\\.")[0], "ORRERY_DB_URL's host " + host);
        assertTrue(labelsMatch(service.getSpec().getSelector(), postgres.getSpec().getTemplate().getMetadata().getLabels()),
            m.says("Service " + host + " must select " + name + "'s pods"));
        assertTrue(service.getSpec().getPorts().stream().anyMatch(p -> p.getPort() == port),
            m.says("Service " + host + " must serve port " + port + " of ORRERY_DB_URL"));
        PodEnvironment db = PodEnvironment.of(server, postgres.getMetadata().getNamespace(), m);
        assertEquals(env.value("ORRERY_DB_USER"), db.value("POSTGRES_USER"), m.says("the nodes' user is the server's"));
        assertEquals(url.getPath().substring(1), db.value("POSTGRES_DB"), m.says("the nodes' database is the server's"));
        assertEquals(env.value("ORRERY_DB_PASSWORD"), db.value("POSTGRES_PASSWORD"),
            m.says("the nodes' password must be the server's"));
      }
    }
  }

  private String secretOf(String variable) {
    PodEnvironment.Variable v = env.variables().get(variable);
    assertNotNull(v, m.says("the container has no " + variable));
    return container.getEnv().stream().filter(e -> e.getName().equals(variable)).findFirst()
        .map(e -> e.getValueFrom().getSecretKeyRef().getName()).orElseThrow();
  }

  private PodEnvironment.Source source(String variable) {
    PodEnvironment.Variable v = env.variables().get(variable);
    assertNotNull(v, m.says("the container must get " + variable));
    return v.source();
  }

  private void assertUnset(String variable, String why) {
    assertTrue(!env.variables().containsKey(variable), m.says(variable + " must not be set in a pod: " + why));
  }

  private ContainerPort port(String name) {
    return container.getPorts().stream().filter(p -> name.equals(p.getName())).findFirst()
        .orElseGet(() -> fail(m.says("the container has no port named " + name + "; its ports are "
            + container.getPorts().stream().map(p -> p.getName() + "=" + p.getContainerPort()).toList())));
  }

  private void managementGet(String what, Probe probe, Set<String> paths) {
    HTTPGetAction get = probe.getHttpGet();
    assertNotNull(get, m.says(what + " must be an HTTP GET of management"));
    assertTrue(paths.contains(get.getPath()), m.says(what + " must GET " + paths + ", gets " + get.getPath()));
    assertEquals("management", get.getPort().getStrVal(), m.says(what + " must use the port named management, uses "
        + show(get.getPort())));
  }

  private static boolean matches(LabelSelector selector, Map<String, String> labels) {
    assertTrue(selector.getMatchExpressions() == null || selector.getMatchExpressions().isEmpty(),
        "selectors here use matchLabels only: " + selector);
    return labelsMatch(selector.getMatchLabels(), labels);
  }

  private static boolean labelsMatch(Map<String, String> selector, Map<String, String> labels) {
    return selector != null && !selector.isEmpty() && labels != null
        && selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
  }

  /** A whole number, or a percentage's number: 0 and "0%" are both nothing. */
  private static int amount(IntOrString v) {
    if (v.getIntVal() != null) return v.getIntVal();
    String s = v.getStrVal();
    return Integer.parseInt(s.endsWith("%") ? s.substring(0, s.length() - 1) : s);
  }

  private int count(IntOrString v, String what) {
    assertNotNull(v.getIntVal(), m.says(what + " must count pods, not a percentage (" + v.getStrVal() + ")"));
    return v.getIntVal();
  }

  private static String show(IntOrString v) {
    return v == null ? "unset" : v.getIntVal() != null ? v.getIntVal().toString() : "'" + v.getStrVal() + "'";
  }

  private static int or(Integer value, int kubernetesDefault) {
    return value == null ? kubernetesDefault : value;
  }

  private static long or(Long value, long kubernetesDefault) {
    return value == null ? kubernetesDefault : value;
  }

  private static long ceilSeconds(Duration d) {
    return (d.toMillis() + 999) / 1000;
  }
}
